"""Every file of the hostile corpus is refused with one specific line, by the loader and by
the command line, and no exploit inside one ever runs."""
import os

import pytest

from app.cli import main
from app.core.checkpoint import CheckpointError, load_bundle
from tests.hostile_files import CASES, markers, tiny_model


def refusal(path) -> str:
    with pytest.raises(CheckpointError) as info:
        load_bundle(path)
    return str(info.value)


@pytest.mark.parametrize("case", CASES)
def test_loader_refuses_with_one_specific_line(tmp_path, case):
    build, words = CASES[case]
    path = build(tmp_path)
    message = refusal(path)
    assert "\n" not in message and message.startswith(f"{path}: ")
    assert words in message
    assert not any(m.exists() for m in markers(tmp_path))


@pytest.mark.parametrize("case", CASES)
def test_cli_exits_2_with_one_line_naming_file_and_problem(tmp_path, case, capsys):
    build, words = CASES[case]
    path = build(tmp_path)
    for argv in (["info", str(path)], ["sample", "image", "--model", str(path)]):
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and err.startswith(f"chainrule: error: {path}: ")
        assert words in err
    assert not any(m.exists() for m in markers(tmp_path))


def test_unreadable_file(tmp_path, capsys):
    path = tiny_model(tmp_path)
    path.chmod(0)
    if os.access(path, os.R_OK):
        pytest.skip("running as root (or with CAP_DAC_OVERRIDE): a mode-0 file is readable")
    assert "permission denied" in refusal(path)
    assert main(["info", str(path)]) == 2
    assert "permission denied" in capsys.readouterr().err


def test_a_safetensors_file_named_pt_is_still_loaded_by_content(tmp_path):
    # The name does not decide: a real chainrule checkpoint loads whatever its suffix,
    # and nothing with a .pt suffix ever reaches torch.load.
    good = tiny_model(tmp_path)
    renamed = tmp_path / "model.pt"
    renamed.write_bytes(good.read_bytes())
    assert load_bundle(renamed).kind == "pixelcnn"
