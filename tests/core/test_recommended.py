"""A model's measured best temperature, carried in its checkpoint: read within range only,
the command line's default for that model, the Image tab's value when it is chosen."""
import pytest

from app.core.checkpoint import save_bundle
from app.core.outputs import read_png_params
from app.core.recommended import recommended, temperature_for
from tests.conftest import make_bundle


@pytest.mark.parametrize("record, expected", [
    ({"temperature": 0.9, "measured": "benchmarks"}, {"temperature": 0.9}),
    ({"temperature": 0}, {}), ({"temperature": float("nan")}, {}), ({"temperature": "0.9"}, {}),
    ({"temperature": True}, {}), ("0.9", {}), (None, {})])
def test_only_known_settings_in_range_are_taken(record, expected):
    assert recommended({"recommended": record}) == expected
    assert recommended("not a dict") == {}


def test_what_is_asked_wins_then_the_model_then_the_default():
    assert temperature_for(1.2, {"recommended": {"temperature": 0.9}}) == 1.2
    assert temperature_for(None, {"recommended": {"temperature": 0.9}}) == 0.9
    assert temperature_for(None, {}) == 1.0


def _model(tmp_path, name, temperature=None, **more):
    net, codec = make_bundle("pixelcnn", height=8, width=8)
    provenance = {"description": "tiny"}
    if temperature is not None or more:
        provenance["recommended"] = {"temperature": temperature, **more}
    return save_bundle(tmp_path / f"{name}.safetensors", net, codec, provenance)


def test_sample_image_starts_from_the_models_temperature(tmp_path, capsys):
    from app.cli import main

    path = _model(tmp_path, "warm", 0.7)
    out = tmp_path / "a.png"
    assert main(["sample", "image", "--model", str(path), "--n", "1", "--out", str(out)]) == 0
    assert read_png_params(out)["temperature"] == 0.7
    assert main(["sample", "image", "--model", str(path), "--n", "1", "--temperature", "1.1",
                 "--out", str(out)]) == 0
    assert read_png_params(out)["temperature"] == 1.1


def test_a_models_guidance_is_the_command_lines_default_for_it(tmp_path):
    from app.cli import main

    assert recommended({"recommended": {"guidance": 3}}) == {"guidance": 3.0}
    assert recommended({"recommended": {"guidance": 0.5}}) == {}       # below 1: not guidance
    path = _model(tmp_path, "guided", guidance=3.0)
    out = tmp_path / "a.png"
    base = ["sample", "image", "--model", str(path), "--n", "1", "--label", "1", "--out",
            str(out)]
    assert main(base) == 0 and read_png_params(out)["guidance"] == 3.0
    assert main(base + ["--guidance", "1.5"]) == 0 and read_png_params(out)["guidance"] == 1.5
    plain = _model(tmp_path, "plain")
    assert main(["sample", "image", "--model", str(plain), "--n", "1", "--label", "1",
                 "--out", str(out)]) == 0
    assert read_png_params(out)["guidance"] == 2.0
