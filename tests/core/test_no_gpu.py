"""No GPU at all (forced, so the test means the same on a GPU machine): 'auto' picks the
CPU, and asking for a GPU is one clear line, not a traceback. Every other test in the suite
runs on the CPU, which is what CI and this project's development machine have."""
import pytest

from app.core.devices import DeviceError, available_devices, pick_device


@pytest.fixture
def no_gpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_auto_falls_back_to_the_cpu(no_gpu):
    assert available_devices() == ["cpu"]
    assert str(pick_device("auto")) == "cpu"


def test_asking_for_a_gpu_that_is_not_there_is_explained(no_gpu):
    with pytest.raises(DeviceError, match="no CUDA GPU is available"):
        pick_device("cuda:0")
    with pytest.raises(DeviceError, match="MPS was requested"):
        pick_device("mps")


@pytest.mark.parametrize("argv", [
    ["sample", "image", "--device", "cuda", "--model", "{model}", "--out", "{tmp}/a.png"],
    ["train", "--device", "cuda", "--kind", "pixelcnn", "--data", "{tmp}", "--steps", "1"],
])
def test_the_cli_says_so_in_one_line(no_gpu, argv, save_tiny, tmp_path, capsys):
    from app.cli import main

    model = save_tiny("pixelcnn")
    argv = [a.format(model=model, tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("chainrule: error: CUDA was requested but no CUDA GPU is available "
                   "(is a CUDA build of torch installed? see README)")
