"""Audio tab: hear a WaveNet speak while it generates, sample by sample."""
from __future__ import annotations

import functools
import time

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QPushButton

from ...core.audio_out import AudioOutputError, open_output
from ...core.outputs import read_wav_params, save_wav
from ...core.requests import AudioRequest, ModelFacts, RequestError
from ...core.sampling.events import AudioChunk
from ..widgets.controls import LabelPicker, SeedBox, number_box, temperature_box
from ..widgets.waveform import WaveformWidget
from .base import GenerateTab

LEAD_S = 0.25           # audio buffered before playback starts, when generation keeps up
MARGIN = 1.15           # slack on the predicted generation time when it does not


def feed_player(player, total: int, rate: int, chunks):
    """Runs in the worker thread: pass the chunks on, feeding the player (a ring buffer)."""
    started = time.perf_counter()
    for chunk in chunks:
        player.feed(chunk.samples[0])
        made = chunk.start + chunk.samples.shape[1]
        speed = made / max(time.perf_counter() - started, 1e-6)
        if speed < rate:
            # Slower than real time: start playing only when the rest can be generated
            # before it is needed, so playback never stalls.
            player.lead = int(min(total, (total - made) * (1 - speed / rate) * MARGIN + made))
        yield chunk
    player.end_of_input()


class AudioTab(GenerateTab):
    modality = "audio"
    save_filter = "WAV audio (*.wav)"
    memory_advice = "generate a shorter Length, or use the CPU"

    def __init__(self, models, device_source, parent=None):
        super().__init__(models, device_source, parent)
        self.label_picker = LabelPicker()
        self.seconds = number_box(0.25, 60.0, 3.0, 0.5, " s")
        self.temperature = temperature_box()
        self.seed = SeedBox()
        self.form.addRow("Class", self.label_picker)
        self.form.addRow("Length", self.seconds)
        self.form.addRow("Temperature", self.temperature)
        self.form.addRow("Seed", self.seed)
        self.play_button = QPushButton("Play again")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.play_again)
        self.more_buttons.addWidget(self.play_button, 1)
        self.waveform = WaveformWidget()
        self.content.addWidget(self.waveform, 1)
        self.output = None                 # opened on first use: querying PortAudio is slow-ish
        self.player = None
        self._rate, self._total, self._made, self._started = 8000, 0, 0, 0.0
        self._watch = QTimer(self)
        self._watch.setInterval(100)
        self._watch.timeout.connect(self._check_playback)
        self._model_changed(self.picker.current())

    def on_model_changed(self, info) -> None:
        self.label_picker.set_classes(info.class_names if info else [])

    # --- playback -----------------------------------------------------------------------
    def _sound_output(self):
        if self.output is None:
            self.output = open_output()
        if not self.output.available:
            self.message.show_message(f"Playback unavailable: {self.output.reason}. Audio is "
                                      "still generated, shown and can be saved.", "info")
        return self.output

    def _start_player(self, seconds: float):
        self.stop_playback()
        output = self._sound_output()
        player = output.player(self._rate, lead_s=LEAD_S, capacity_s=seconds + 2)
        try:
            output.start(player)
        except AudioOutputError as err:
            self.message.show_message(f"{err}. Audio is still generated and can be saved.",
                                      "info")
        self.player = player
        self._watch.start()
        return player

    def stop_playback(self) -> None:
        if self.player is not None:
            self.player.stop()
            self.player = None
        self._watch.stop()

    def _check_playback(self) -> None:
        if self.player is not None and self.player.drained:
            self.stop_playback()

    def play_again(self) -> None:
        samples = self.waveform.samples
        if len(samples) == 0 or self.runner.running:
            return
        player = self._start_player(len(samples) / self._rate)
        player.feed(samples)
        player.end_of_input()

    # --- running ------------------------------------------------------------------------
    def prepare_run(self):
        info = self.picker.current()
        request = AudioRequest(model=info.name, seconds=self.seconds.value(),
                               label=self.label_picker.label(),
                               temperature=self.temperature.value(), seed=self.seed.value())
        if not self.check_request(request, info):
            return None
        facts = ModelFacts.of(info)
        self._rate = facts.codec.sample_rate
        self._total, self._made = request.samples(facts), 0
        self.result_params = request.to_params(info)
        self.waveform.reset(self._rate)
        self.progress.setRange(0, self._total)
        self.progress.setValue(0)
        self.progress.setFormat("%p% generated")
        player = self._start_player(request.seconds)
        self._started = time.perf_counter()
        feed = functools.partial(feed_player, player, self._total, self._rate)
        return self.run_factory(request, [info.path], through=feed)

    def on_events(self, events: list) -> None:
        chunks = [e.samples[0] for e in events if isinstance(e, AudioChunk)]
        if not chunks:
            return
        block = np.concatenate(chunks)
        self._made += len(block)
        self.waveform.append(block)
        elapsed = max(time.perf_counter() - self._started, 1e-6)
        speed = self._made / elapsed
        self.progress.setValue(self._made)
        playing = self.player is not None and self.output is not None and self.output.available
        state = ""
        if playing and self.player.played == 0 and self._made < self._total:
            state = f" \u00b7 buffering {self.player.lead / self._rate:.1f} s"
        self.stats.setText(f"{speed:,.0f} samples/s \u00b7 {speed / self._rate:.2f}\u00d7 "
                           f"real time{state}")

    def on_run_ended(self, how: str) -> None:
        if how != "finished" and self.player is not None:
            self.stop_playback()
        self.waveform.show_all()
        self.play_button.setEnabled(len(self.waveform.samples) > 0)
        elapsed = time.perf_counter() - self._started
        if how == "finished":
            realtime = self._made / max(elapsed, 1e-6) / self._rate
            self.stats.setText(f"Done: {self._made / self._rate:.2f} s of audio in "
                               f"{elapsed:.1f} s ({realtime:.2f}\u00d7 real time)")
        elif how == "cancelled":
            self.stats.setText(f"Stopped after {self._made / self._rate:.2f} s of audio")

    def stop(self) -> None:
        super().stop()
        self.stop_playback()

    def shutdown(self) -> None:
        super().shutdown()
        self.stop_playback()

    # --- save / open --------------------------------------------------------------------
    def has_result(self) -> bool:
        return len(self.waveform.samples) > 0

    def default_save_name(self) -> str:
        p = self.result_params or {}
        return f"{p.get('model', 'audio')}-seed{p.get('seed', 0)}.wav"

    def save_result(self, path: str) -> None:
        save_wav(path, self.waveform.samples, self._rate, self.result_params or {})

    def open_result(self, path: str) -> None:
        import soundfile

        params = read_wav_params(path)
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
        self._rate = rate
        self.waveform.set_audio(samples.mean(axis=1), rate)
        self.play_button.setEnabled(True)
        self.result_params = params or None
        if params:
            self.apply_params(params)

    def apply_params(self, params: dict) -> None:
        try:
            request = AudioRequest.from_params(params)
        except RequestError as err:
            self.message.show_message(f"the file's parameters were not restored: {err}")
            return
        if request.model and not self.picker.select_name(request.model):
            self.message.show_message(f"model '{request.model}' is not installed", "info")
        self.label_picker.set_label("any" if request.label is None else request.label)
        self.seconds.setValue(request.seconds)
        self.temperature.setValue(request.temperature)
        self.seed.setValue(request.seed)

    def save_settings(self, settings) -> None:
        super().save_settings(settings)
        settings.setValue("audio/seconds", self.seconds.value())
        settings.setValue("audio/temperature", self.temperature.value())
        settings.setValue("audio/seed", self.seed.value())

    def restore_settings(self, settings) -> None:
        super().restore_settings(settings)
        self.seconds.setValue(float(settings.value("audio/seconds", 3.0)))
        self.temperature.setValue(float(settings.value("audio/temperature", 1.0)))
        self.seed.setValue(int(settings.value("audio/seed", 1)))
