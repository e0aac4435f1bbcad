"""Running out of device memory (injected): a message that says what to reduce, the failed
run's memory let go, and a retry with a smaller batch that succeeds."""
import gc

import numpy as np
import pytest

from app.core.memory import (
    DeviceOutOfMemory,
    guard_out_of_memory,
    is_out_of_memory,
    release_memory,
)
from tests.conftest import make_bundle


def test_what_counts_as_running_out_of_memory():
    import torch

    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate"))
    assert is_out_of_memory(RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"))
    assert is_out_of_memory(RuntimeError("[enforce fail at alloc_cpu.cpp:117] "
                                         "DefaultCPUAllocator: can't allocate memory"))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(ValueError("out of memory"))    # bad input, not a device
    assert not is_out_of_memory(RuntimeError("shape mismatch"))


def test_the_guard_drops_the_failed_run_before_it_reports():
    import weakref

    import torch

    seen = []

    def run():
        big = torch.zeros(1000, 1000)           # stands for the activations of a batch
        seen.append(weakref.ref(big))
        yield 1
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")

    events = guard_out_of_memory(run, "lower the batch size (now 64)")
    assert next(events) == 1
    with pytest.raises(DeviceOutOfMemory) as caught:
        next(events)
    text = str(caught.value)
    assert text.startswith("the GPU ran out of memory (it asked for 8.00 GiB)")
    assert text.endswith(": lower the batch size (now 64)") and "\n" not in text
    # No chained traceback keeps the failed run's frames (and their tensors) alive.
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    gc.collect()
    assert seen[0]() is None


def test_other_errors_pass_through_unchanged():
    def run():
        yield 1
        raise ValueError("a bad label")

    with pytest.raises(ValueError, match="a bad label"):
        list(guard_out_of_memory(run(), "anything"))


def test_release_empties_the_cuda_cache_once_cuda_is_in_use(monkeypatch):
    import torch

    calls = []
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: calls.append("cuda"))
    release_memory()
    assert calls == ["cuda"]


def test_sampling_that_runs_out_says_to_make_fewer_then_a_smaller_batch_works(small_gpu):
    from app.core.sampling.image import sample_images

    net, codec = make_bundle("pixelcnn")
    state = small_gpu(4)
    with pytest.raises(DeviceOutOfMemory, match="fewer images"):
        list(guard_out_of_memory(lambda: sample_images(net, codec, 9, seed=1),
                                 "make fewer images at once"))
    gc.collect()
    assert state["failed"] and all(ref() is None for ref in state["failed"])
    events = list(guard_out_of_memory(lambda: sample_images(net, codec, 4, seed=1), "-"))
    assert events[-1].pixels.shape == (4, codec.height, codec.width, 1)


def test_training_that_runs_out_names_the_batch_size_then_a_smaller_batch_trains(
        small_gpu, tmp_path):
    from app.core.training.datasets import ImageData
    from app.core.training.presets import PreparedData
    from app.core.training.runner import FinalReport, TrainJob, run_job
    from app.core.training.trainer import TrainSettings

    net, codec = make_bundle("pixelcnn")
    rng = np.random.default_rng(0)
    images = ImageData(rng.integers(0, 16, (20, 1, 6, 5)).astype(np.uint8),
                       rng.integers(0, 3, 20))
    data = PreparedData(codec, images, images, images, "all 20", {"source": "test"})

    def job(batch):
        return TrainJob(data, net.config, TrainSettings(steps=3, batch_size=batch, eval_every=3),
                        str(tmp_path / f"b{batch}.safetensors"))

    small_gpu(4)
    with pytest.raises(DeviceOutOfMemory, match=r"lower the batch size \(now 8\)"):
        list(guard_out_of_memory(lambda: run_job(job(8)), "lower the batch size (now 8)"))
    assert not (tmp_path / "b8.safetensors").exists()
    events = list(guard_out_of_memory(lambda: run_job(job(4)), "-"))
    assert isinstance(events[-1], FinalReport)


def test_the_cli_reports_it_in_one_line_with_what_to_reduce(small_gpu, save_tiny, capsys):
    from app.cli import main

    path = save_tiny("pixelcnn")
    small_gpu(2)
    code = main(["sample", "image", "--model", str(path), "--n", "4", "--seed", "0",
                 "--out", str(path.parent / "out.png")])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2
    assert err.startswith("chainrule: error: the GPU ran out of memory")
    assert "--n" in err


def test_the_size_asked_for_is_shown_whole_and_the_cpu_is_not_suggested_on_the_cpu():
    from argparse import Namespace

    from app.cli import _memory_advice
    from app.core.memory import out_of_memory_text

    err = RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't "
                       "allocate memory: you tried to allocate 32000000000 bytes. Error code 12")
    assert out_of_memory_text(err, "x") == \
        "the computer ran out of memory (it asked for 29.8 GiB): x"
    cpu = _memory_advice(Namespace(command="sample", modality="image", device="cpu"))
    assert cpu == "draw fewer images at once (--n)"
    gpu = _memory_advice(Namespace(command="train", device="cuda"))
    assert gpu == "lower --batch-size or choose --size small, or use --device cpu"
    audio = _memory_advice(Namespace(command="sample", modality="audio", device="cpu"))
    assert "--seconds" in audio and "--length" not in audio
