"""Does a WaveNet's output look like speech? Compares generated audio with real held-out clips.

Prints JSON with, for both: loudness, share of silent frames, share of voiced frames (a clear
pitch period between 70 and 400 Hz in the autocorrelation), median pitch, spectral centroid,
and loudness swing (standard deviation of frame loudness in dB). Noise has no pitch and a
steady loudness; silence has no energy; speech has pitch and swings by syllable. With --png it
also writes spectrograms of both, one above the other, to look at.

    python benchmarks/audio_quality.py --model speech --seconds 6 --png speech-check.png
"""
from __future__ import annotations

import argparse
import json

import numpy as np


def frames(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    n = 1 + max(0, (len(x) - size) // hop)
    return np.stack([x[i * hop:i * hop + size] for i in range(n)])


def describe(x: np.ndarray, rate: int) -> dict:
    f = frames(x, int(0.04 * rate), int(0.01 * rate))             # 40 ms frames, 10 ms hop
    rms = np.sqrt((f ** 2).mean(1) + 1e-12)
    db = 20 * np.log10(rms)
    loud = db > db.max() - 35
    voiced, pitches = 0, []
    lo, hi = int(rate / 400), int(rate / 70)
    for frame in f[loud]:
        frame = frame - frame.mean()
        ac = np.correlate(frame, frame, "full")[len(frame) - 1:]
        if ac[0] <= 0:
            continue
        ac = ac / ac[0]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.5:
            voiced += 1
            pitches.append(rate / lag)
    spectrum = np.abs(np.fft.rfft(f * np.hanning(f.shape[1]), axis=1)) ** 2
    freqs = np.fft.rfftfreq(f.shape[1], 1 / rate)
    centroid = float((spectrum.sum(0) * freqs).sum() / spectrum.sum())
    # Speech rises and falls by tens of dB from syllable to syllable; steady noise does not.
    depth = float(np.std(np.clip(db, db.max() - 50, None)))
    return {"rms_dbfs": round(float(20 * np.log10(np.sqrt((x ** 2).mean()) + 1e-12)), 1),
            "silent_share": round(float(1 - loud.mean()), 3),
            "voiced_share_of_sound": round(voiced / max(int(loud.sum()), 1), 3),
            "median_pitch_hz": round(float(np.median(pitches)), 1) if pitches else None,
            "spectral_centroid_hz": round(centroid, 1),
            "loudness_swing_db": round(depth, 1)}


def spectrogram_png(path: str, rows: list[np.ndarray], rate: int) -> None:
    from PIL import Image

    images = []
    for x in rows:
        f = frames(x, 256, 64) * np.hanning(256)
        s = 10 * np.log10(np.abs(np.fft.rfft(f, axis=1)) ** 2 + 1e-10).T[::-1]
        s = np.clip((s - (s.max() - 70)) / 70, 0, 1)
        images.append((s * 255).astype(np.uint8))
    width = max(i.shape[1] for i in images)
    stacked = np.concatenate([np.pad(i, ((0, 4), (0, width - i.shape[1]))) for i in images])
    Image.fromarray(stacked).resize((width * 2, stacked.shape[0] * 2)).save(path)


def main() -> None:
    import torch

    from app.core.checkpoint import load_bundle
    from app.core.paths import resolve_model
    from app.core.recommended import recommended, temperature_for
    from app.core.sampling.audio import generate_audio
    from app.core.training.presets import get_preset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="speech")
    parser.add_argument("--preset", default="speech", help="whose held-out clips to compare")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--seed", default="0", help="a seed, or several separated by commas "
                                                    "(each is reported, then the mean)")
    parser.add_argument("--temperature", type=float, default=None,
                        help="default: the model's measured one, else 1 (as the Audio tab)")
    parser.add_argument("--voice-temperature", default=None,
                        help="temperature while loud (sampling/voice.py), or 'off'; default: "
                             "the model's measured one, as the Audio tab uses")
    parser.add_argument("--png", help="write spectrograms (generated above, real below)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    bundle = load_bundle(resolve_model(args.model))
    rate = bundle.codec.sample_rate
    temperature = temperature_for(args.temperature, bundle.provenance)
    if args.voice_temperature is None:
        voice = recommended(bundle.provenance).get("voice_temperature")
    else:
        voice = None if args.voice_temperature == "off" else float(args.voice_temperature)
    seeds = [int(s) for s in args.seed.split(",")]
    fakes = [generate_audio(bundle.net, bundle.codec, int(args.seconds * rate), seed=seed,
                            temperature=temperature, voice_temperature=voice)[0]
             for seed in seeds]
    held = get_preset(args.preset).prepare().heldout.values
    real = bundle.codec.decode(held[:int(args.seconds * rate)])
    generated = [describe(fake, rate) for fake in fakes]
    report = {"model": bundle.name, "seconds": args.seconds, "seed": args.seed,
              "temperature": temperature, "voice_temperature": voice,
              "generated": generated[0] if len(seeds) == 1 else generated,
              "real_heldout": describe(real, rate)}
    if len(seeds) > 1:
        report["mean"] = {key: round(float(np.mean([g[key] for g in generated])), 3)
                          for key in ("silent_share", "voiced_share_of_sound",
                                      "loudness_swing_db", "spectral_centroid_hz")}
    print(json.dumps(report, indent=2))
    if args.png:
        spectrogram_png(args.png, [fakes[0], real], rate)


if __name__ == "__main__":
    main()
