"""Text tab: a character language model completes a prompt, each character tinted by how
probable it was; or, in Score mode, scores any text character by character (the chain rule)."""
from __future__ import annotations

import random
import time
from dataclasses import replace

from PySide6.QtWidgets import QLineEdit, QPlainTextEdit, QPushButton, QSpinBox

from ...core.outputs import read_text_file, save_text
from ...core.requests import RequestError, TextRequest
from ...core.requests.text import format_stops, parse_stops
from ...core.sampling.events import TextDelta, TextDone
from ...core.state.text_trace import TextTrace, branch_seed
from ..widgets.controls import MAX_SEED, ModeSwitchWidget, SeedBox, number_box, temperature_box
from ..widgets.drift_dialog import DriftLauncher
from ..widgets.text_trace_view import TextViewsWidget
from .base import GenerateTab
from .text_explain import TextScoreMode, branch_menu

DEFAULT_PROMPT = "ROMEO:\n"
MODES = {"generate": "Complete a prompt, character by character",
         "score": "Paste or open any text and see the bits the model needs for each character"}


class TextTab(GenerateTab):
    modality = "text"
    save_filter = "Text (*.txt)"
    memory_advice = "shorten the prompt and Length, or use the CPU"

    def __init__(self, models, device_source, parent=None):
        super().__init__(models, device_source, parent)
        self.mode = "generate"
        self.mode_switch = ModeSwitchWidget(MODES)
        self.column.insertWidget(0, self.mode_switch)
        self.mode_switch.mode_changed.connect(self.set_mode)
        self.prompt = QPlainTextEdit(DEFAULT_PROMPT)
        self.prompt.setPlaceholderText("Prompt: the model continues from here")
        self.prompt.setFixedHeight(96)
        self.temperature = temperature_box(0.8, low=0.0)
        self.temperature.setToolTip("0 = always the most likely character")
        self.top_k = QSpinBox()
        self.top_k.setRange(0, 1000)
        self.top_k.setSpecialValueText("off")
        self.top_p = number_box(0.05, 1.0, 1.0, 0.05)
        self.length = QSpinBox()
        self.length.setRange(1, 20000)
        self.length.setValue(600)
        self.length.setSuffix(" chars")
        self.stops = QLineEdit()
        self.stops.setPlaceholderText(r"e.g. \n\n, THE END")
        self.stops.setToolTip(r"Comma-separated; \n is a newline")
        self.seed = SeedBox()
        self.generation_rows = (self.prompt, self.temperature, self.top_k, self.top_p,
                                self.length, self.stops, self.seed)
        for label, widget in zip(("Prompt", "Temperature", "Top-k", "Top-p", "Max length",
                                  "Stop at", "Seed"), self.generation_rows):
            self.form.addRow(label, widget)
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("Keep generating from where it stopped")
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setToolTip("A new completion of the same prompt (new seed)")
        self.more_buttons.addWidget(self.continue_button, 1)
        self.more_buttons.addWidget(self.regenerate_button, 1)
        self.continue_button.clicked.connect(self.continue_)
        self.regenerate_button.clicked.connect(self.regenerate)
        self.views = TextViewsWidget()
        self.content.addWidget(self.views, 1)
        self.output, self.colour_box = self.views.output, self.views.colour_box
        self.output.char_clicked.connect(self._offer_branches)
        self.scoring = TextScoreMode(self, self.views.scored)
        self.drift = DriftLauncher(self, self.views.drift_button, lambda: (
            (self.trace.text, None, None) if len(self.trace.text) > 1 else None),
            "this text", "character")
        self.trace = TextTrace()
        self._request, self._info = None, None    # the last run and its model: to branch
        self._plan = None          # (model, request, commit) of a continuation or branch
        self._lines = {"generate": "", "score": ""}   # each mode's own stats line
        self._count, self._started = 0, 0.0   # _started: the first character's arrival
        self._ended = "length"           # how the last run ended: length, stop string, stopped
        self._model_changed(self.picker.current())

    # compatibility for the tests and callers that read the text as strings
    @property
    def _prompt_text(self) -> str:
        return self.trace.prompt

    @property
    def _completion(self) -> str:
        return self.trace.completion

    # --- modes --------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if self.runner.running and mode != self.mode:
            self.mode_switch.set_mode(self.mode, announce=False)
            return
        self._lines[self.mode] = self.stats.text()
        self.mode = mode
        self.mode_switch.set_mode(mode, announce=False)
        score = mode == "score"
        for widget in self.generation_rows:
            self.form.setRowVisible(widget, not score)
        self.continue_button.setVisible(not score)
        self.regenerate_button.setVisible(not score)
        self.views.show_scored(score)
        self.generate_button.setText("Score" if score else "Generate")
        self.stats.setText(self._lines[mode])
        self.progress.reset()
        self.refresh_actions()

    # --- running ------------------------------------------------------------------------
    def prepare_run(self):
        if self.mode == "score":
            return self.scoring.prepare()
        plan, self._plan = self._plan, None
        info, request, commit = plan or self._fresh_plan()
        if not self.check_request(request, info):
            return None
        commit(request, info)
        self._request, self._info = request, info
        self.output.show_trace(self.trace)
        self._count, self._started = 0, 0.0
        self._ended = "length"
        self.progress.setRange(0, request.length)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m characters")
        # report=True costs a few percent: every character brings its candidates.
        return self.run_factory(request, [info.path], report=True)

    def _request_from_controls(self, prompt: str, length: int, seed: int) -> TextRequest:
        return TextRequest(model=self.picker.current().name, prompt=prompt, length=length,
                           temperature=self.temperature.value(), top_k=self.top_k.value(),
                           top_p=self.top_p.value(), seed=seed,
                           stop=tuple(parse_stops(self.stops.text())))

    def _fresh_plan(self):
        request = self._request_from_controls(self.prompt.toPlainText(), self.length.value(),
                                              self.seed.for_run())

        def commit(request, info):
            self.trace = TextTrace(request.prompt, budget=request.length)
            self.result_params = {**request.to_params(info), "prompt": request.prompt,
                                  "continued": False}
        return self.picker.current(), request, commit

    def on_events(self, events: list) -> None:
        if self.mode == "score":
            self.scoring.on_events(events)
            return
        new = self.trace.apply(events)
        # chars/s is the drawing's speed: loading the model is not counted in it.
        self._started = self._started or time.perf_counter()
        self._count += sum(1 for e in events if isinstance(e, TextDelta))
        if new:
            self.output.append_records(new)
        for event in events:
            if isinstance(event, TextDone) and event.reasons[0] == "stop":
                self._ended = "stop string"
        elapsed = max(time.perf_counter() - self._started, 1e-6)
        if self._count - self.progress.value() >= self.progress.maximum() / 200:
            self.progress.setValue(self._count)          # a repaint costs ~1 ms: 0.5% steps
        self.stats.setText(f"{self._count / elapsed:,.0f} chars/s")

    def on_run_ended(self, how: str) -> None:
        if self.mode == "score":
            self.scoring.on_run_ended(how)
            return
        self.progress.setValue(self._count)   # the bar and the line say the same number
        elapsed = time.perf_counter() - (self._started or time.perf_counter())
        rate = self._count / max(elapsed, 1e-6)
        ended = "stopped" if how == "cancelled" else self._ended
        self.stats.setText({"finished": f"Done: {self._count} characters, {rate:,.0f} chars/s"
                                        + (" (ended at a stop string)" if ended == "stop string"
                                           else ""),
                            "cancelled": f"Stopped after {self._count} characters"}
                           .get(how, self.stats.text()))
        if self.result_params is not None and how in ("finished", "cancelled"):
            # What the saved file says is what happened, not only what was asked for.
            self.result_params.update(characters=len(self._completion),
                                      stopped=how == "cancelled", ended=ended)
        self._update_buttons()

    def _set_running(self, running: bool) -> None:
        super()._set_running(running)
        self.prompt.setReadOnly(running)
        self._update_buttons(running)

    def _update_buttons(self, running: bool = False) -> None:
        self.continue_button.setEnabled(not running and bool(self.trace.text))
        self.regenerate_button.setEnabled(not running and self.picker.current() is not None)

    def _run_plan(self, plan) -> None:
        self._plan = plan
        self.generate()
        if not self.runner.running:
            self._plan = None

    def continue_(self) -> None:
        if self.runner.running or not self.trace.text:
            return
        # A continuation draws anew from where the text stops, so its seed moves on with it.
        request = self._request_from_controls(self.trace.text, self.length.value(),
                                              self.seed.value() + len(self._completion))

        def commit(request, info):
            self.trace.budget = len(self.trace) + request.length
            self.result_params = {**request.to_params(info), "prompt": self.trace.prompt,
                                  "continued": True}
        self._run_plan((self.picker.current(), request, commit))

    def regenerate(self) -> None:
        if self.runner.running:
            return
        if self.seed.locked():          # else the run draws a new seed by itself
            self.seed.setValue(random.randint(0, MAX_SEED))
        self.generate()

    # --- branches -----------------------------------------------------------------------
    def branch(self, i: int, char: str | None = None) -> None:
        """Keep the text before completion index `i`, put `char` there (None: draw it
        again), and draw the rest live with the last run's settings and a seed of its own."""
        if self.runner.running or self._request is None or self.mode != "generate":
            return
        context, remaining = self.trace.branch(i, char)
        seed = branch_seed(self._request.seed, i, char)

        def commit(request=None, info=None):
            self.trace.cut(i, char)
            if self.result_params is not None:
                self.result_params.setdefault("branches", []).append(
                    {"at": i, "char": char, "seed": seed})
                self.result_params["characters"] = len(self.trace)
        if remaining == 0:            # the last character: nothing after it to draw
            commit()
            self.output.show_trace(self.trace)
            return
        request = replace(self._request, prompt=context, length=remaining, seed=seed)
        self._run_plan((self._info, request, commit))

    def _offer_branches(self, i: int, where) -> None:
        if not self.runner.running and self._request is not None:
            menu = branch_menu(self, self.trace.records[i], i, self.branch)
            if menu is not None:
                menu.popup(where)

    # --- save / open --------------------------------------------------------------------
    def has_result(self) -> bool:
        return self.mode == "generate" and bool(self._completion) and bool(self.result_params)

    def default_save_name(self) -> str:
        p = self.result_params or {}
        return f"{p.get('model', 'text')}-seed{p.get('seed', 0)}.txt"

    def save_result(self, path: str) -> None:
        save_text(path, self.trace.text, self.result_params)

    def open_result(self, path: str) -> None:
        text, params = read_text_file(path)
        if self.mode == "score":     # any text, to be scored as a whole
            self.scoring.open_text(text)
            return
        self.trace = TextTrace.of_text(text, str(params.get("prompt", "")))
        self._request = None          # no distributions to branch from
        self.output.show_trace(self.trace)
        self.result_params = params or None
        if params:
            self.apply_params(params)
        self._update_buttons()

    def apply_params(self, params: dict) -> None:
        try:
            request = TextRequest.from_params(params)
        except RequestError as err:
            self.message.show_message(f"the file's parameters were not restored: {err}")
            return
        if request.model and not self.picker.select_name(request.model):
            self.message.show_message(f"model '{request.model}' is not installed", "info")
        self.prompt.setPlainText(request.prompt)
        self.temperature.setValue(request.temperature)
        self.top_k.setValue(request.top_k)
        self.top_p.setValue(request.top_p)
        self.length.setValue(request.length)
        self.stops.setText(format_stops(request.stop))
        self.seed.setValue(request.seed)

    def save_settings(self, settings) -> None:
        super().save_settings(settings)
        for key, value in (("prompt", self.prompt.toPlainText()),
                           ("temperature", self.temperature.value()),
                           ("top_k", self.top_k.value()), ("top_p", self.top_p.value()),
                           ("length", self.length.value()), ("stop", self.stops.text()),
                           ("colour", self.colour_box.isChecked())):
            settings.setValue(f"text/{key}", value)
        self.seed.save_settings(settings, "text")

    def restore_settings(self, settings) -> None:
        super().restore_settings(settings)
        self.prompt.setPlainText(str(settings.value("text/prompt", DEFAULT_PROMPT)))
        self.temperature.setValue(float(settings.value("text/temperature", 0.8)))
        self.top_k.setValue(int(settings.value("text/top_k", 0)))
        self.top_p.setValue(float(settings.value("text/top_p", 1.0)))
        self.length.setValue(int(settings.value("text/length", 600)))
        self.stops.setText(str(settings.value("text/stop", "")))
        self.seed.restore_settings(settings, "text")
        # QSettings may hand a bool back as the string 'false'
        self.colour_box.setChecked(str(settings.value("text/colour", True)).lower() != "false")
