"""Device choice and seeded generators. Nothing happens at import; torch loads on first call."""
from __future__ import annotations

from .errors import UserError


class DeviceError(UserError, RuntimeError):
    """A requested device that this machine does not have."""


def available_devices() -> list[str]:
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices[:0] = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.insert(0, "mps")
    return devices


def pick_device(request: str = "auto"):
    """'auto' prefers cuda > mps > cpu; an explicit request that cannot be met is an error."""
    import torch

    request = (request or "auto").lower()
    if request == "auto":
        return torch.device(available_devices()[0])
    if request.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError("CUDA was requested but no CUDA GPU is available "
                          "(is a CUDA build of torch installed? see README)")
    if request == "mps" and "mps" not in available_devices():
        raise DeviceError("MPS was requested but is not available on this machine")
    try:
        return torch.device(request)
    except RuntimeError:
        raise DeviceError(f"unknown device '{request}' "
                          "(use auto, cpu, cuda, cuda:N or mps)") from None


def describe_device(device) -> str:
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return device.type.upper()


def make_generator(seed: int | None, device):
    """A torch.Generator on `device`, seeded; results repeat for the same seed and device."""
    import torch

    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    return gen
