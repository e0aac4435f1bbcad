"""Playing audio while it is generated: a ring buffer and an output stream that drains it.

The sampler thread writes chunks into a RingBuffer; the sound card's callback thread reads
from it. Playback starts once a small lead is buffered, every sample is played exactly once
and in order; when the generator falls behind, the callback plays silence for the gap
(counted as an underrun) and resumes with the next generated sample, dropping nothing.

Without a sound device (no PortAudio, no card: CI, servers) `open_output` returns a
NullOutput that says why, so the caller can still generate, show and save audio.
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np


class RingBuffer:
    """A thread-safe FIFO of float32 samples with a fixed capacity."""

    def __init__(self, capacity: int):
        self._data = np.zeros(capacity, dtype=np.float32)
        self._read = 0        # total samples ever read
        self._written = 0     # total samples ever written
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        return len(self._data)

    def available(self) -> int:
        with self._lock:
            return self._written - self._read

    def write(self, samples: np.ndarray) -> int:
        """Append as many samples as fit; returns how many were taken."""
        samples = np.asarray(samples, dtype=np.float32).ravel()
        with self._lock:
            free = self.capacity - (self._written - self._read)
            n = min(free, len(samples))
            start = self._written % self.capacity
            first = min(n, self.capacity - start)
            self._data[start:start + first] = samples[:first]
            self._data[:n - first] = samples[first:n]
            self._written += n
            return n

    def read_into(self, out: np.ndarray) -> int:
        """Fill `out` from the front of the buffer; returns samples copied (rest untouched)."""
        with self._lock:
            n = min(len(out), self._written - self._read)
            start = self._read % self.capacity
            first = min(n, self.capacity - start)
            out[:first] = self._data[start:start + first]
            out[first:n] = self._data[:n - first]
            self._read += n
            return n


class StreamPlayer:
    """Feeds a RingBuffer to a sound device; starts after `lead` samples are buffered."""

    def __init__(self, sample_rate: int, lead_s: float = 0.25, capacity_s: float = 600.0):
        # Capacity must hold everything generated ahead of playback: size it to the clip.
        self.sample_rate = sample_rate
        self.lead = int(lead_s * sample_rate)
        self.buffer = RingBuffer(int(capacity_s * sample_rate))
        self.underruns = 0          # callbacks that ran short while generation was still going
        self.played = 0
        self._started = threading.Event()
        self._finished_input = threading.Event()
        self._drained = threading.Event()
        self._stream: Any = None      # a sounddevice.OutputStream once started
        self._stopped = False

    # --- producer side (the sampler thread) ---------------------------------------------
    def feed(self, samples: np.ndarray) -> None:
        if self._stopped:
            return                    # nothing will ever play it (no device, or stopped)
        taken = self.buffer.write(samples)
        if taken < len(samples):
            raise RuntimeError("audio ring buffer is full (playback stalled?)")
        if not self._started.is_set() and self.buffer.available() >= self.lead:
            self._started.set()

    def end_of_input(self) -> None:
        """No more samples will come: play out what is buffered, then stop."""
        self._finished_input.set()
        self._started.set()

    # --- consumer side (the sound card's thread) ----------------------------------------
    def fill(self, out: np.ndarray) -> int:
        """Fill one device block; returns the generated samples in it (the rest is silence)."""
        out[:] = 0.0
        if not self._started.is_set():
            return 0
        # Read the flag before the buffer: if input had ended by then, a short read really
        # is the end; checked after, the last chunk could arrive in between and be lost.
        finished = self._finished_input.is_set()
        got = self.buffer.read_into(out)
        self.played += got
        if got < len(out):
            if finished:
                self._drained.set()
            else:
                self.underruns += 1
        return got

    @property
    def drained(self) -> bool:
        return self._drained.is_set()

    def wait_drained(self, timeout: float | None = None) -> bool:
        return self._drained.wait(timeout)

    # --- device ---------------------------------------------------------------------------
    def start(self, sounddevice) -> None:
        def callback(outdata, frames, time_info, status):   # runs in PortAudio's thread
            self.fill(outdata[:, 0])

        self._stream = sounddevice.OutputStream(samplerate=self.sample_rate, channels=1,
                                                dtype="float32", callback=callback)
        self._stream.start()

    def stop(self) -> None:
        self._stopped = True
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception:       # a device that vanished mid-play must not take us down
                pass
        self._drained.set()


class AudioOutputError(RuntimeError):
    """The sound device refused to open or failed while playing."""


class NullOutput:
    """Stands in for a sound device that does not exist; `reason` says why."""

    available = False

    def __init__(self, reason: str):
        self.reason = reason

    def player(self, sample_rate: int, **kwargs) -> StreamPlayer:
        return StreamPlayer(sample_rate, **kwargs)   # buffers but never plays

    def start(self, player: StreamPlayer) -> None:
        player.stop()


class DeviceOutput:
    available = True
    reason = ""

    def __init__(self, sounddevice, name: str):
        self._sd = sounddevice
        self.name = name

    def player(self, sample_rate: int, **kwargs) -> StreamPlayer:
        return StreamPlayer(sample_rate, **kwargs)

    def start(self, player: StreamPlayer) -> None:
        try:
            player.start(self._sd)
        except Exception as err:   # PortAudioError and friends: report, never crash
            player.stop()
            raise AudioOutputError(f"cannot open the sound output: {str(err).splitlines()[0]}") \
                from None


def open_output():
    """The default sound output, or a NullOutput saying why there is none. Never raises."""
    try:
        import sounddevice
    except OSError as err:        # PortAudio library missing
        return NullOutput(f"sound output unavailable: {err} (install libportaudio2)")
    except ImportError:
        return NullOutput("sound output unavailable: the sounddevice package is not installed")
    try:
        device = sounddevice.query_devices(kind="output")
    except Exception as err:      # no device: PortAudioError / ValueError
        return NullOutput(f"no sound output device found ({str(err).splitlines()[0]})")
    return DeviceOutput(sounddevice, str(device.get("name", "default output")))
