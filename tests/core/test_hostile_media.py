"""Hostile and absurd pictures, masks and sounds (issue 17): each is refused from its header
with one line (exit 2 from the command line) or, inside a training or eval folder, skipped
and named while the run goes on; none gets to allocate much on the way.

Every file is built here, most of them real and valid: a PNG of zeros compresses about
1000:1, so a few KB on disk can claim gigabytes once decoded.
"""
import resource
import struct
import tracemalloc
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from app.cli import main
from app.core import media
from app.core.checkpoint import load_bundle
from app.core.masks import MaskError, read_mask_png, save_mask_png
from app.core.media import MediaError, read_audio, read_image, resample

# What reading one hostile file may add to the process, at most. The findings were 861 MB
# (an 8000 x 8000 mask), over 16 GB (a 2,000,000 x 1 strip) and 12 GiB (a WAV at 1 Hz).
FOOTPRINT_MB = 300


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024      # KB on Linux


@contextmanager
def small_footprint(python_too: bool = True):
    """The block must neither raise the process's peak memory nor (with python_too) make
    more than FOOTPRINT_MB of Python/numpy allocations. The peak only shows growth past
    earlier peaks and tracemalloc misses Pillow's own buffers: together they are a sanity
    bound, not a measurement."""
    before = _maxrss_mb()
    if python_too:
        tracemalloc.start()
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if python_too else 0
        if python_too:
            tracemalloc.stop()
    assert peak < FOOTPRINT_MB, f"{peak:.0f} MB allocated"
    assert _maxrss_mb() - before < FOOTPRINT_MB, f"peak memory grew {_maxrss_mb() - before} MB"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(path: Path, width: int, height: int, claim_only: bool = False) -> Path:
    """An 8-bit grey PNG of zeros, compressed a row at a time so building it allocates
    nothing big; claim_only: one row of data under a header claiming the whole size."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)                     # filter byte, then the pixels
    rows = 1 if claim_only else height
    at_once = max(1, 2**20 // len(row))             # about a MB of rows per call
    body = b"".join(packer.compress(row * min(at_once, rows - done))
                    for done in range(0, rows, at_once))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
                     + _chunk(b"IDAT", body + packer.flush()) + _chunk(b"IEND", b""))
    return path


def _png16(path: Path) -> Path:
    """A 16-bit grey PNG of values 15..19983: clipped at 255 it was 98.6% white."""
    values = np.linspace(15, 19983, 40 * 30).reshape(30, 40).astype(np.uint16)
    Image.fromarray(values).save(path)
    assert Image.open(path).mode == "I;16"
    return path


HOSTILE_PICTURES = {
    # name: (build, words of the one line)
    "claimed_bomb": (lambda p: _png(p, 60_000, 60_000, claim_only=True),
                     "image is too large (3,600,000,000 pixels; the limit is 40,000,000"),
    "bomb": (lambda p: _png(p, 9_000, 9_000), "image is too large (81,000,000 pixels"),
    "huge": (lambda p: _png(p, 8_000, 8_000), "image is too large (64,000,000 pixels"),
    "strip": (lambda p: _png(p, 2_000_000, 1), "image is 2,000,000 x 1 pixels, a strip"),
    "column": (lambda p: _png(p, 1, 2_000_000), "image is 1 x 2,000,000 pixels, a strip"),
}


@pytest.mark.parametrize("case", HOSTILE_PICTURES)
def test_hostile_pictures_and_masks_are_refused_from_the_header(tmp_path, case):
    build, words = HOSTILE_PICTURES[case]
    path = build(tmp_path / f"{case}.png")
    assert path.stat().st_size < 200_000
    with small_footprint():
        with pytest.raises(MediaError) as refused:
            read_image(path, 28, 28, 1)
        assert words in str(refused.value) and "\n" not in str(refused.value)
        with pytest.raises(MaskError) as refused:
            read_mask_png(path, 28, 28)
        assert str(refused.value).startswith(f"{path}: ") and words in str(refused.value)


@pytest.mark.parametrize("case", HOSTILE_PICTURES)
def test_inpaint_refuses_a_hostile_picture_or_mask_with_one_line(tmp_path, save_tiny, case,
                                                                  capsys):
    build, words = HOSTILE_PICTURES[case]
    hostile = build(tmp_path / f"{case}.png")
    good = tmp_path / "good.png"
    Image.fromarray(np.full((6, 5), 128, np.uint8)).save(good)
    mask = save_mask_png(tmp_path / "mask.png", np.ones((6, 5), bool))
    model, out = save_tiny("pixelcnn"), tmp_path / "out.png"
    for image_path, mask_path in ((hostile, mask), (good, hostile)):
        with small_footprint(python_too=False):
            code = main(["inpaint", "--model", str(model), "--image", str(image_path),
                         "--mask", str(mask_path), "--out", str(out)])
        _, err = capsys.readouterr()
        assert code == 2 and err.count("\n") == 1, err
        assert err.startswith(f"chainrule: error: {hostile}: ") and words in err
        assert not out.exists()


def test_a_pillow_failure_of_any_kind_is_one_line(tmp_path, monkeypatch):
    # Pillow's decoders raise more than OSError on damaged files (struct.error, IndexError,
    # ...); in a training folder any of them ended the run.
    from PIL import ImageFile

    path = tmp_path / "odd.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(path)

    def fail(self):
        raise IndexError("index out of range")

    monkeypatch.setattr(ImageFile.ImageFile, "load", fail)
    with pytest.raises(MediaError, match=r"^corrupt image \(index out of range\)$"):
        read_image(path, 6, 5, 1)
    with pytest.raises(MaskError, match="corrupt image"):
        read_mask_png(path, 6, 5)


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    path = _png16(tmp_path / "deep.png")
    notes: list[str] = []
    grey = read_image(path, 30, 40, 1, notes)[..., 0]
    assert (grey == 255).mean() < 0.01                 # clipped, 98.6% of it was white
    assert grey.min() == 0 and grey.max() == round(19983 / 257)
    assert notes == ["16-bit grey scaled to 8 bits (values 15..19983 became 0..78)"]
    rgb = read_image(path, 30, 40, 3)
    assert np.array_equal(rgb[..., 0], grey) and np.array_equal(rgb[..., 2], grey)
    # As a mask: hidden where the value is past half of 16 bits, not past 255.
    values = np.zeros((6, 5), np.uint16)
    values[:3] = 40000
    values[3:] = 30000
    Image.fromarray(values).save(tmp_path / "mask16.png")
    assert np.array_equal(read_mask_png(tmp_path / "mask16.png", 6, 5), values > 32768)


def test_thirty_two_bit_and_float_grey_are_stretched(tmp_path):
    values = np.linspace(-1000, 100_000, 30 * 40).reshape(30, 40)
    Image.fromarray(values.astype(np.int32)).save(tmp_path / "wide.tif")
    Image.fromarray(values.astype(np.float32) / 7).save(tmp_path / "float.tif")
    for name, lo in (("wide.tif", "-1000"), ("float.tif", "-142.857")):
        notes: list[str] = []
        grey = read_image(tmp_path / name, 30, 40, 1, notes)
        assert grey.min() == 0 and grey.max() == 255
        assert len(notes) == 1 and notes[0].startswith(f"32-bit grey values {lo}")
    nan = np.ones((6, 5), np.float32)
    nan[0, 0] = np.nan
    Image.fromarray(nan).save(tmp_path / "nan.tif")
    with pytest.raises(MediaError, match="invalid"):
        read_image(tmp_path / "nan.tif", 6, 5, 1)


def _train(args: list, capsys) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def _picture(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (30, 40), dtype=np.uint8)).save(path)
    return path


def test_train_and_eval_skip_hostile_pictures_and_go_on(tmp_path, save_tiny, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        _picture(folder / f"good{i}.png", i)
    for case, (build, _) in HOSTILE_PICTURES.items():
        build(folder / f"{case}.png")
    _png16(folder / "deep.png")
    out = tmp_path / "trained.safetensors"
    with small_footprint(python_too=False):
        code, err = _train(["train", "--kind", "pixelcnn", "--data", folder, "--steps", "2",
                            "--batch-size", "2", "--out", out, "--quiet"], capsys)
    assert code == 0, err
    data = load_bundle(out).provenance["data"]
    assert data["files_used"] == 4                     # three pictures and the 16-bit one
    for case, (_, words) in HOSTILE_PICTURES.items():
        assert f"  {folder / case}.png: {words}" in err
    assert f"skipped {len(HOSTILE_PICTURES)} file(s):" in err
    assert f"{folder / 'deep.png'}: 16-bit grey scaled to 8 bits" in err
    assert any(n.startswith(f"{folder / 'deep.png'}: 16-bit") for n in data["notes"])

    code, err = _train(["eval", "--model", save_tiny("pixelcnn"), "--data", folder], capsys)
    assert code == 0, err


def _wav(path: Path, rate: int, seconds: float = 0.5, samples: int | None = None) -> Path:
    n = samples if samples is not None else int(seconds * rate)
    soundfile.write(path, 0.5 * np.sin(np.arange(n) / 3.0).astype(np.float32), rate)
    assert soundfile.info(path).samplerate == rate
    return path


@pytest.mark.parametrize("rate", [1, 999, 384_001, 2**31 - 1])
def test_an_absurd_sample_rate_is_refused_before_resampling(tmp_path, rate, monkeypatch):
    # 200,000 samples at 1 Hz were 1.6 billion at 8 kHz: 12 GiB of spectra.
    path = _wav(tmp_path / "odd.wav", rate, samples=200_000)

    def no_resampling(*args):
        raise AssertionError("resampled")

    monkeypatch.setattr(media, "resample", no_resampling)
    with small_footprint(), pytest.raises(MediaError) as refused:
        read_audio(path, 8000)
    assert str(refused.value) == (f"the file declares a sample rate of {rate:,} Hz; audio is "
                                  "read at 1,000 to 384,000 Hz")


@pytest.mark.parametrize("rate", [1000, 384_000])
def test_the_documented_range_is_inclusive(tmp_path, rate):
    samples = read_audio(_wav(tmp_path / "edge.wav", rate, seconds=0.1), 8000)
    assert len(samples) == 800


def test_sample_audio_refuses_a_prime_at_1_hz_with_one_line(tmp_path, save_tiny, capsys):
    prime, out = _wav(tmp_path / "slow.wav", 1, samples=200_000), tmp_path / "s.wav"
    with small_footprint(python_too=False):
        code = main(["sample", "audio", "--model", str(save_tiny("wavenet")), "--seconds",
                     "0.01", "--prime", str(prime), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"chainrule: error: --prime {prime}: the file declares a sample "
                          "rate of 1 Hz") and not out.exists()


def test_train_and_eval_skip_absurd_sample_rates_and_go_on(tmp_path, save_tiny, capsys):
    folder = tmp_path / "sounds"
    folder.mkdir()
    for i in range(2):
        _wav(folder / f"tone{i}.wav", 8000, seconds=1.0)
    _wav(folder / "slow.wav", 1, samples=200_000)
    _wav(folder / "fast.wav", 2**31 - 1, samples=2000)
    out = tmp_path / "trained.safetensors"
    with small_footprint(python_too=False):
        code, err = _train(["train", "--kind", "wavenet", "--data", folder, "--steps", "2",
                            "--batch-size", "2", "--out", out, "--quiet"], capsys)
    assert code == 0, err
    assert load_bundle(out).provenance["data"]["files_used"] == 2
    assert f"  {folder / 'slow.wav'}: the file declares a sample rate of 1 Hz;" in err
    assert f"  {folder / 'fast.wav'}: the file declares a sample rate of 2,147,483,647 Hz" in err

    code, err = _train(["eval", "--model", save_tiny("wavenet"), "--data", folder], capsys)
    assert code == 0, err


def test_a_sound_too_long_to_hold_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(media, "MAX_AUDIO_SAMPLES", 4000)
    path = _wav(tmp_path / "long.wav", 8000, seconds=1.0)
    with pytest.raises(MediaError, match=r"^audio file is too long \(0 minutes; at most 0 "):
        read_audio(path, 8000)
    assert len(read_audio(path, 8000, max_seconds=0.25)) == 2000     # a part of it is fine
    # Upsampling counts too: 0.4 s at 8 kHz is 3,200 samples, but 6,400 at 16 kHz.
    with pytest.raises(MediaError, match="too long"):
        read_audio(_wav(tmp_path / "short.wav", 8000, seconds=0.4), 16000)


def test_many_channels_are_mixed_down_a_block_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(media, "READ_BLOCK_VALUES", 64)
    wave = np.random.default_rng(0).uniform(-1, 1, (1000, 16)).astype(np.float32)
    soundfile.write(tmp_path / "many.wav", wave, 8000, subtype="FLOAT")
    assert np.allclose(read_audio(tmp_path / "many.wav", 8000), wave.mean(axis=1), atol=1e-6)


@pytest.mark.parametrize("rate_in, rate_out", [(16000, 8000), (8000, 16000),
                                               (44100, 8000), (8000, 22050)])
def test_resampling_in_blocks_matches_resampling_whole(monkeypatch, rate_in, rate_out):
    t = np.arange(3 * rate_in) / rate_in
    tone = (0.4 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1234.5 * t))
    whole = resample(tone, rate_in, rate_out)
    monkeypatch.setattr(media, "RESAMPLE_BLOCK", 5000)     # 3 s in many blocks
    monkeypatch.setattr(media, "RESAMPLE_PAD", 1000)
    blocks = resample(tone, rate_in, rate_out)
    assert len(blocks) == len(whole)
    edge = len(whole) // 20             # both ring at the ends, where the sound wraps round
    assert np.max(np.abs(blocks - whole)[edge:-edge]) < 2e-3
