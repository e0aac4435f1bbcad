"""`chainrule selftest`: opens the window, draws a grid with the first bundled image model,
saves it, reports, and leaves the user's own data folder alone."""
import json

from tests.conftest import make_bundle


def test_selftest_draws_saves_and_reports(qtbot, tmp_path, monkeypatch, capsys):
    from app.cli import main
    from app.core import paths
    from app.core.checkpoint import save_bundle

    bundled = tmp_path / "bundled"
    bundled.mkdir()
    net, codec = make_bundle("pixelcnn", height=8, width=8)
    save_bundle(bundled / "tiny.safetensors", net, codec, {"description": "tiny"})
    monkeypatch.setattr(paths, "bundled_models_dir", lambda: bundled)
    home = paths.user_data_dir()
    out = tmp_path / "grid.png"
    assert main(["selftest", "--out", str(out), "--grid", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["model"] == "tiny" and report["images"] == 4
    assert report["history"] == 1 and out.exists()
    assert paths.user_data_dir() == home and not (home / "history").exists()


def test_selftest_without_an_image_model_fails_with_a_reason(qtbot, tmp_path, monkeypatch,
                                                             capsys):
    from app.cli import main
    from app.core import paths

    monkeypatch.setattr(paths, "bundled_models_dir", lambda: tmp_path / "none")
    assert main(["selftest"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["ok"] and report["problem"] == "no image model found"
