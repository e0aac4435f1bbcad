"""Audio tab: hear a WaveNet speak while it generates, sample by sample."""
from __future__ import annotations

import functools
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QPushButton

from ...core.audio_out import AudioOutputError, open_output
from ...core.outputs import read_wav_params, save_wav
from ...core.requests import AudioRequest, ModelFacts, RequestError
from ...core.sampling.events import AudioChunk
from ...core.state.audio_trace import SCORE_SECONDS, score_audio, sound_seconds
from ..widgets.audio_trace_view import AudioTraceWidget
from ..widgets.controls import LabelPicker, SeedBox, number_box, temperature_box
from ..widgets.drift_dialog import DriftLauncher
from ..widgets.measured_settings import ModelDefault, voice_temperature_box
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
        self.voice_temperature = voice_temperature_box()
        self._model_settings = [ModelDefault(self.temperature, "temperature", 1.0),
                                ModelDefault(self.voice_temperature, "voice_temperature", 0.0)]
        self.form.addRow("Temperature", self.temperature)
        self.form.addRow("While loud", self.voice_temperature)
        self.form.addRow("Seed", self.seed)
        self.waveform = WaveformWidget()
        self.trace_view = AudioTraceWidget()
        self.explain = self.trace_view.switch       # the views, and report=True
        self.form.addRow("", self.explain)
        self.play_button = QPushButton("Play again")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.play_again)
        self.more_buttons.addWidget(self.play_button, 1)
        self.score_button = QPushButton("Score")
        self.score_button.setEnabled(False)
        self.score_button.setToolTip(f"What the model makes of the opened WAV (its first "
                                     f"{SCORE_SECONDS:g} s) or of the sound shown")
        self.score_button.clicked.connect(self.score)
        self.more_buttons.addWidget(self.score_button, 1)
        self.content.addLayout(self.trace_view.under(self.waveform), 1)
        self.drift = DriftLauncher(self, self.trace_view.drift_button, lambda: (
            (self.waveform.samples, None, None) if len(self.waveform.samples) > 1 else None),
            "this sound", "sample")
        self._opened: str | None = None    # the WAV shown, when it was opened (for Score)
        self._scoring = self._score_next = False
        self.output = None                 # opened on first use: querying PortAudio is slow-ish
        self.player = None
        self._rate, self._total, self._made, self._started = 8000, 0, 0, 0.0
        self._watch = QTimer(self)
        self._watch.setInterval(100)
        self._watch.timeout.connect(self._check_playback)
        self._model_changed(self.picker.current())

    def on_model_changed(self, info) -> None:
        self.label_picker.set_classes(info.class_names if info else [])
        for setting in self._model_settings:    # the model's measured settings, if any
            setting.fit(info)

    def voice_temperature_value(self) -> float | None:
        value = self.voice_temperature.value()
        return value if value > 0 else None

    def _set_running(self, running: bool) -> None:
        super()._set_running(running)
        self.score_button.setEnabled(not running and self.picker.current() is not None
                                     and self.has_result())

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

    def _show_playable(self) -> None:
        """Play again only when there is a sound and a device to play it on; without a
        device the button says why instead of doing nothing."""
        if self.output is None:
            self.output = open_output()
        has_sound = len(self.waveform.samples) > 0
        self.play_button.setEnabled(has_sound and self.output.available)
        self.play_button.setToolTip(
            "Play the sound again from the start" if self.output.available else
            f"No sound to play on: {self.output.reason}. Save it and play it elsewhere")

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
        if self._score_next:
            return self._prepare_score(info)
        request = AudioRequest(model=info.name, seconds=self.seconds.value(),
                               label=self.label_picker.label(),
                               temperature=self.temperature.value(), seed=self.seed.for_run(),
                               voice_temperature=self.voice_temperature_value())
        if not self.check_request(request, info):
            return None
        facts = ModelFacts.of(info)
        self._begin(facts.codec.sample_rate, request.samples(facts), "generated")
        self._opened = None
        self.result_params = request.to_params(info)
        player = self._start_player(request.seconds)
        feed = functools.partial(feed_player, player, self._total, self._rate)
        # Without the views the sampler need not hand over every distribution.
        return self.run_factory(request, [info.path], through=feed,
                                report=self.explain.isChecked())

    def _begin(self, rate: int, total: int, verb: str) -> None:
        self._rate, self._total, self._made, self._skipped = rate, total, 0, 0
        self._scoring, self._started = verb == "scored", time.perf_counter()
        self.waveform.reset(rate)
        self.trace_view.reset(rate)
        self.progress.setRange(0, 0 if self._scoring else total)
        self.progress.setValue(0)
        self.progress.setFormat(f"%p% {verb}")

    def score(self) -> None:
        """The views of the opened WAV (its first SCORE_SECONDS) or of the sound shown."""
        if self.runner.running or not self.has_result():
            return
        self._score_next = True
        try:
            self.generate()
        finally:
            self._score_next = False

    def _prepare_score(self, info):
        rate = ModelFacts.of(info).codec.sample_rate
        source: str | np.ndarray
        if self._opened is not None:
            source, seconds = self._opened, min(sound_seconds(self._opened), SCORE_SECONDS)
        elif self._rate == rate:
            source = self.waveform.samples.copy()
            seconds = min(len(source) / rate, SCORE_SECONDS)
        else:
            self.message.show_message(f"this sound is at {self._rate} Hz and {info.name} "
                                      f"works at {rate} Hz: open it as a WAV file to score it")
            return None
        self.stop_playback()
        self.explain.setChecked(True)
        self._begin(rate, max(1, int(round(seconds * rate))), "scored")
        return functools.partial(score_audio, self.models, str(info.path),
                                 self.device_source(), source, SCORE_SECONDS)

    def on_events(self, events: list) -> None:
        chunks = [e.samples[0] for e in events if isinstance(e, AudioChunk)]
        if not chunks:
            return
        block = np.concatenate(chunks)
        self._made += len(block)
        self._skipped = max(e.skipped for e in events if isinstance(e, AudioChunk))
        self.waveform.append(block)
        self.trace_view.apply(events)   # (without report=True the chunks carry nothing)
        if self._scoring:
            # The given sample comes once the model is loaded; the rest after the one pass.
            self.progress.setRange(0, self._total if self._made > 1 else 0)
            self.progress.setValue(min(self._made, self._total))
            self.stats.setText(f"Scoring {self._total / self._rate:.2f} s\u2026")
            return
        elapsed = max(time.perf_counter() - self._started, 1e-6)
        speed = self._made / elapsed
        if self._made - self.progress.value() >= self._total / 200 or self._made >= self._total:
            self.progress.setValue(self._made)          # a repaint costs ~1 ms: 0.5% steps
        playing = self.player is not None and self.output is not None and self.output.available
        state = ""
        if playing and self.player.played == 0 and self._made < self._total:
            state = f" \u00b7 buffering {self.player.lead / self._rate:.1f} s"
        self.stats.setText(f"{speed:,.0f} samples/s \u00b7 {speed / self._rate:.2f}\u00d7 "
                           f"real time{state}")

    def run_makes_result(self) -> bool:
        return not self._scoring

    def on_run_ended(self, how: str) -> None:
        if how != "finished" and self.player is not None:
            self.stop_playback()
        self.waveform.show_all()
        self.trace_view.redraw()
        self._show_playable()
        self.refresh_actions()
        elapsed = time.perf_counter() - self._started
        trace = self.trace_view.trace
        if self._scoring:
            if how == "finished":
                cut = self._opened is not None and sound_seconds(self._opened) > SCORE_SECONDS
                cut_text = f" (its first {SCORE_SECONDS:g} s)" if cut else ""
                self.stats.setText(f"Scored {self._made / self._rate:.2f} s{cut_text}: "
                                   f"{trace.total_bits:,.0f} bits, {trace.mean_bits:.2f} "
                                   f"bits/sample (the first sample is given)")
            return
        mean = f"; {trace.mean_bits:.2f} bits/sample" if trace.count else ""
        if how == "finished":
            realtime = self._made / max(elapsed, 1e-6) / self._rate
            # Said, so the wait before the first sound is not a mystery (sampling.audio).
            quiet = f"; the first {self._skipped / self._rate:.2f} s drawn were silence, " \
                "left out" if self._skipped else ""
            self.stats.setText(f"Done: {self._made / self._rate:.2f} s of audio in "
                               f"{elapsed:.1f} s ({realtime:.2f}\u00d7 real time){mean}{quiet}")
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
        self.trace_view.reset(rate)
        self._opened, self._scoring = str(path), False
        self._show_playable()
        self.refresh_actions()
        self.stats.setText(f"Opened {Path(path).name}: {len(samples) / rate:.2f} s at "
                           f"{rate} Hz. Score shows what the model makes of it (at most "
                           f"the first {SCORE_SECONDS:g} s).")
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
        self.voice_temperature.setValue(request.voice_temperature or 0.0)
        self.seed.setValue(request.seed)

    def save_settings(self, settings) -> None:
        super().save_settings(settings)
        settings.setValue("audio/seconds", self.seconds.value())
        settings.setValue("audio/temperature", self.temperature.value())
        settings.setValue("audio/voice_temperature", self.voice_temperature.value())
        self.seed.save_settings(settings, "audio")
        settings.setValue("audio/explain", self.explain.isChecked())

    def restore_settings(self, settings) -> None:
        super().restore_settings(settings)
        self.seconds.setValue(float(settings.value("audio/seconds", 3.0)))
        self.temperature.setValue(float(settings.value("audio/temperature", 1.0)))
        if settings.contains("audio/voice_temperature"):
            self.voice_temperature.setValue(float(settings.value("audio/voice_temperature")))
        self.seed.restore_settings(settings, "audio")
        self.explain.setChecked(str(settings.value("audio/explain", True)).lower()
                                not in ("false", "0"))

