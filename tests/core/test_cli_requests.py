"""The sample and inpaint commands build a request and check all of it before any work: a bad
value is one line and exit 2 with nothing written, an output nobody can write is refused
before a model is loaded, and a saved result says how it was made and how it ended."""
import numpy as np
import pytest
import soundfile

from app.cli import main
from app.core.masks import save_mask_png
from app.core.outputs import read_png_params, read_text_file


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def no_loading(monkeypatch):
    """Any attempt to load a model fails the test (the run must stop before that)."""
    from app.core import checkpoint

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(checkpoint, "load_bundle", refuse)


@pytest.fixture
def picture(tmp_path):
    """A 6 x 5 grey picture and a mask hiding 6 of its pixels, as the tiny image models take."""
    from PIL import Image

    rng = np.random.default_rng(0)
    Image.fromarray((rng.integers(0, 16, (6, 5)) * 16 + 8).astype(np.uint8)).save(
        tmp_path / "in.png")
    mask = np.zeros((6, 5), bool)
    mask[2:4, 1:4] = True
    save_mask_png(tmp_path / "mask.png", mask)
    return tmp_path / "in.png", tmp_path / "mask.png"


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_a_temperature_that_is_not_positive_and_finite_writes_nothing(value, tmp_path,
                                                                      save_tiny, capsys):
    out = tmp_path / "t.png"
    code, stdout, err = run(capsys, "sample", "image", "--model", save_tiny("pixelcnn"),
                            "--n", "1", "--temperature", value, "--out", out)
    line = one_error_line(err)
    assert code == 2 and "temperature must be at least 0.01" in line and value in line
    assert not out.exists() and "wrote" not in stdout


@pytest.mark.parametrize("flag, value, words", [("--top-p", "5", "top-p must be more than 0"),
                                                ("--top-p", "0", "top-p must be more than 0"),
                                                ("--top-k", "-3", "top-k must be")])
def test_text_sampling_limits_are_checked(flag, value, words, tmp_path, save_tiny, capsys):
    out = tmp_path / "t.txt"
    code, stdout, err = run(capsys, "sample", "text", "--model", save_tiny("charlm-lstm"),
                            "--prompt", "ab", "--length", "5", flag, value, "--out", out)
    assert code == 2 and words in one_error_line(err) and f"(got {value}" in err
    assert stdout == "" and not out.exists()


def test_every_problem_is_reported_at_once(save_tiny, capsys):
    code, stdout, err = run(capsys, "sample", "text", "--model", save_tiny("charlm-gpt"),
                            "--temperature", "0", "--top-p", "5", "--top-k", "-3")
    line = one_error_line(err)
    assert code == 2 and stdout == ""
    assert all(w in line for w in ("temperature must", "top-p must", "top-k must"))
    code, _, err = run(capsys, "sample", "image", "--model", save_tiny("pixelcnn"),
                       "--label", "zebra", "--temperature", "-1", "--seed", "-4")
    line = one_error_line(err)
    assert code == 2
    assert all(w in line for w in ("unknown label 'zebra'", "temperature must", "seed must"))


@pytest.mark.parametrize("argv, kind", [
    (["sample", "image"], "pixelcnn"),
    (["sample", "audio", "--seconds", "0.01"], "wavenet"),
    (["sample", "text", "--length", "3"], "charlm-lstm"),
    (["inpaint", "--image", "{image}", "--mask", "{mask}"], "pixelcnn"),
])
def test_an_output_folder_that_does_not_exist_is_refused_before_loading(
        argv, kind, tmp_path, save_tiny, picture, no_loading, capsys):
    model = save_tiny(kind)
    out = tmp_path / "missing" / "result.out"
    argv = [a.format(image=picture[0], mask=picture[1]) for a in argv]
    code, stdout, err = run(capsys, *argv, "--model", model, "--out", out)
    assert code == 2 and stdout == ""
    assert one_error_line(err) == (f"chainrule: error: cannot write {out}: the folder "
                                   f"'{out.parent}' does not exist")


def test_an_output_under_a_file_or_onto_a_folder_is_refused(tmp_path, save_tiny, no_loading,
                                                           capsys):
    model = save_tiny("pixelcnn")
    (tmp_path / "afile").write_text("x")
    code, _, err = run(capsys, "sample", "image", "--model", model,
                       "--out", tmp_path / "afile" / "x.png")
    assert code == 2 and "is a file, not a folder" in one_error_line(err)
    code, _, err = run(capsys, "sample", "image", "--model", model, "--out", tmp_path)
    assert code == 2 and f"cannot write {tmp_path}: it is a folder" in one_error_line(err)


def test_a_missing_prime_says_the_file_does_not_exist(tmp_path, save_tiny, capsys):
    out = tmp_path / "s.wav"
    prime = tmp_path / "nope.wav"
    code, _, err = run(capsys, "sample", "audio", "--model", save_tiny("wavenet"),
                       "--seconds", "0.01", "--prime", prime, "--out", out)
    line = one_error_line(err)
    assert code == 2 and str(prime) in line and "does not exist" in line
    assert "System error" not in line and not out.exists()


def test_a_prime_continues_and_is_recorded(tmp_path, save_tiny, capsys):
    prime, out = tmp_path / "prime.wav", tmp_path / "s.wav"
    soundfile.write(prime, np.sin(np.arange(200) / 5.0) * 0.5, 8000)
    code, _, _ = run(capsys, "sample", "audio", "--model", save_tiny("wavenet"),
                     "--seconds", "0.01", "--prime", prime, "--seed", "1", "--out", out)
    assert code == 0 and len(soundfile.read(out)[0]) == 80
    from app.core.outputs import read_wav_params
    from app.core.requests import AudioRequest

    params = read_wav_params(out)
    assert params["primed_with"] == str(prime) and params["seconds"] == 0.01
    assert AudioRequest.from_params(params).seed == 1


def test_a_saved_text_records_how_it_ended(tmp_path, save_tiny, capsys):
    model = save_tiny("charlm-lstm")
    full, stopped = tmp_path / "full.txt", tmp_path / "stopped.txt"
    code, out, _ = run(capsys, "sample", "text", "--model", model, "--prompt", "ab",
                       "--length", "30", "--seed", "3", "--out", full)
    assert code == 0
    text, params = read_text_file(full)
    assert out == text + "\n" and text.startswith("ab")
    assert params["stopped"] is False and params["ended"] == "length"
    assert params["characters"] == 30
    assert params["prompt"] == "ab" and params["seed"] == 3 and params["length"] == 30
    # Every character of the tiny vocabulary but the newline: it stops almost at once.
    code, _, _ = run(capsys, "sample", "text", "--model", model, "--prompt", "ab",
                     "--length", "200", "--seed", "3", *sum((["--stop", c] for c in "abcdefgh :!"),
                                                            []), "--out", stopped)
    assert code == 0
    text, params = read_text_file(stopped)
    assert params["stopped"] is False and params["ended"] == "stop string"
    assert 0 < params["characters"] < 200
    assert params["characters"] == len(text) - len("ab")
    assert params["stop"] == list("abcdefgh :!")


def test_a_text_stopped_by_ctrl_c_is_saved_as_stopped(tmp_path, save_tiny, monkeypatch,
                                                      capsys):
    from app.core.requests import TextRequest

    events = TextRequest.events

    def interrupted(self, bundle, device=None):
        for i, event in enumerate(events(self, bundle, device)):
            if i == 7:
                raise KeyboardInterrupt
            yield event

    monkeypatch.setattr(TextRequest, "events", interrupted)
    out = tmp_path / "t.txt"
    code, stdout, err = run(capsys, "sample", "text", "--model", save_tiny("charlm-gpt"),
                            "--prompt", "ab", "--length", "50", "--out", out)
    assert code == 130 and "interrupted" in err
    text, params = read_text_file(out)
    assert stdout == text + "\n" and len(text) == 2 + 7
    assert params["stopped"] is True and params["ended"] == "stopped"
    assert params["characters"] == 7 and params["length"] == 50


def test_saved_image_parameters_read_back_as_the_same_request(tmp_path, save_tiny, capsys):
    from app.core.requests import ImageRequest
    from app.core.sampling.guidance import DEFAULT_SCALE

    out = tmp_path / "a.png"
    code, _, _ = run(capsys, "sample", "image", "--model", save_tiny("anyorder"), "--n", "2",
                     "--order", "spiral", "--label", "class2", "--temperature", "0.5",
                     "--seed", "9", "--scale", "2", "--out", out)
    assert code == 0
    params = read_png_params(out)
    assert params["version"] == 2 and params["scale"] == 2
    # A class-conditional model is guided by default (the scale is recorded).
    assert ImageRequest.from_params(params) == ImageRequest(
        model="anyorder", n=2, label=2, temperature=0.5, seed=9, order="spiral",
        guidance=DEFAULT_SCALE)


def test_guidance_from_the_command_line(tmp_path, save_tiny, capsys):
    out = tmp_path / "g.png"
    code, _, _ = run(capsys, "sample", "image", "--model", save_tiny("pixelcnn"), "--n", "2",
                     "--label", "1", "--guidance", "3", "--seed", "1", "--out", out)
    assert code == 0 and read_png_params(out)["guidance"] == 3.0
    plain = save_tiny("pixelcnn", name="plain", num_classes=0)
    code, _, _ = run(capsys, "sample", "image", "--model", plain, "--out", out)
    assert code == 0 and "guidance" not in read_png_params(out)     # nothing to guide
    code, _, err = run(capsys, "sample", "image", "--model", plain, "--guidance", "2",
                       "--out", out)
    assert code == 2 and "trained without classes" in err
    code, _, err = run(capsys, "sample", "image", "--model", save_tiny("pixelcnn"),
                       "--guidance", "-1", "--out", out)
    assert code == 2 and "guidance must be between 0 and 10" in err


def test_a_fixed_order_model_refuses_another_order(save_tiny, capsys):
    code, _, err = run(capsys, "sample", "image", "--model", save_tiny("subscale"),
                       "--order", "spiral")
    assert code == 2 and "subscale order only" in one_error_line(err)


def test_inpaint_methods_old_and_new_spellings(tmp_path, save_tiny, picture, capsys):
    model = save_tiny("anyorder")
    for method in ("anyorder", "any-order"):
        out = tmp_path / f"{method}.png"
        code, stdout, _ = run(capsys, "inpaint", "--model", model, "--image", picture[0],
                              "--mask", picture[1], "--method", method, "--seed", "4",
                              "--scale", "1", "--out", out)
        assert code == 0 and f"filled 6 pixels 1 time(s) by {method}" in stdout
        params = read_png_params(out)
        assert params["method"] == "any-order" and params["order"] == "nearest"
        assert params["hidden"] == 6 and params["image"] == "in.png"
    code, _, err = run(capsys, "inpaint", "--model", save_tiny("pixelcnn"), "--image",
                       picture[0], "--mask", picture[1], "--method", "any-order",
                       "--temperature", "0", "--out", tmp_path / "no.png")
    line = one_error_line(err)
    assert code == 2 and "any-order method needs an any-order model" in line
    assert "temperature must be at least 0.01" in line and not (tmp_path / "no.png").exists()


def test_inpaint_guidance_from_the_command_line(tmp_path, save_tiny, picture, capsys):
    model = save_tiny("pixelcnn")
    common = ["--model", model, "--image", picture[0], "--mask", picture[1], "--label", "1",
              "--seed", "2", "--scale", "1"]
    out = tmp_path / "raster.png"
    code, _, _ = run(capsys, "inpaint", *common, "--method", "raster", "--guidance", "2.5",
                     "--out", out)
    assert code == 0 and read_png_params(out)["guidance"] == 2.5
    # Resampling weighs fills by the model's own likelihood: unguided unless asked.
    out = tmp_path / "resample.png"
    code, _, _ = run(capsys, "inpaint", *common, "--method", "resample", "--out", out)
    assert code == 0 and read_png_params(out)["guidance"] == 1.0
    code, _, err = run(capsys, "inpaint", *common, "--method", "resample", "--guidance", "2",
                       "--out", out)
    assert code == 2 and "resampling is not guided" in err
