"""Text tab: a character language model completes a prompt, one character at a time."""
from __future__ import annotations

import random
import time

from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTextEdit,
)

from ...core.outputs import read_text_file, save_text
from ...core.requests import RequestError, TextRequest
from ...core.requests.text import format_stops, parse_stops
from ...core.sampling.events import TextDelta, TextDone
from ..widgets.controls import MAX_SEED, SeedBox, number_box, temperature_box
from .base import GenerateTab

DEFAULT_PROMPT = "ROMEO:\n"


class TextTab(GenerateTab):
    modality = "text"
    save_filter = "Text (*.txt)"
    memory_advice = "shorten the prompt and Length, or use the CPU"

    def __init__(self, models, device_source, parent=None):
        super().__init__(models, device_source, parent)
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
        for label, widget in (("Prompt", self.prompt), ("Temperature", self.temperature),
                              ("Top-k", self.top_k), ("Top-p", self.top_p),
                              ("Max length", self.length), ("Stop at", self.stops),
                              ("Seed", self.seed)):
            self.form.addRow(label, widget)
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("Keep generating from where it stopped")
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setToolTip("A new completion of the same prompt (new seed)")
        self.more_buttons.addWidget(self.continue_button, 1)
        self.more_buttons.addWidget(self.regenerate_button, 1)
        self.continue_button.clicked.connect(self.continue_)
        self.regenerate_button.clicked.connect(self.regenerate)
        self.output = QTextEdit()
        self.output.setReadOnly(True)
        self.output.setFont(QFont("DejaVu Sans Mono", 11))
        self.output.setPlaceholderText("The completion appears here as it is written.")
        self.content.addWidget(self.output, 1)
        self._prompt_text = self._completion = ""
        self._count, self._started, self._continuing = 0, 0.0, False
        self._ended = "length"           # how the last run ended: length, stop string, stopped
        self._model_changed(self.picker.current())

    # --- running ------------------------------------------------------------------------
    def prepare_run(self):
        info = self.picker.current()
        continuing = self._continuing
        context = self._prompt_text + self._completion if continuing else \
            self.prompt.toPlainText()
        # A continuation draws anew from where the text stops, so its seed moves on with it.
        seed = self.seed.value() + (len(self._completion) if continuing else 0)
        request = TextRequest(model=info.name, prompt=context, length=self.length.value(),
                              temperature=self.temperature.value(), top_k=self.top_k.value(),
                              top_p=self.top_p.value(), seed=seed,
                              stop=tuple(parse_stops(self.stops.text())))
        if not self.check_request(request, info):
            return None
        if not continuing:
            self._prompt_text, self._completion = context, ""
            self._render_prompt()
        self.result_params = {**request.to_params(info), "prompt": self._prompt_text,
                              "continued": continuing}
        self._count, self._started = 0, time.perf_counter()
        self._ended = "length"
        self.progress.setRange(0, request.length)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m characters")
        return self.run_factory(request, [info.path])

    def _render_prompt(self) -> None:
        self.output.clear()
        cursor = self.output.textCursor()
        cursor.insertText(self._prompt_text, QTextCharFormat())

    def on_events(self, events: list) -> None:
        text = "".join(e.text for e in events if isinstance(e, TextDelta) and e.stream == 0)
        self._count += sum(1 for e in events if isinstance(e, TextDelta))
        if text:
            self._completion += text
            fmt = QTextCharFormat()
            fmt.setForeground(QColor("#e0a030") if self.palette().window().color().lightness()
                              < 128 else QColor("#a05a00"))
            cursor = self.output.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(text, fmt)
            self.output.setTextCursor(cursor)
            self.output.ensureCursorVisible()
        for event in events:
            if isinstance(event, TextDone) and event.reasons[0] == "stop":
                self._ended = "stop string"
        elapsed = max(time.perf_counter() - self._started, 1e-6)
        self.progress.setValue(self._count)
        self.stats.setText(f"{self._count / elapsed:,.0f} chars/s")

    def on_run_ended(self, how: str) -> None:
        self._continuing = False
        elapsed = time.perf_counter() - self._started
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
        self.continue_button.setEnabled(not running and bool(self._prompt_text + self._completion))
        self.regenerate_button.setEnabled(not running and self.picker.current() is not None)

    def continue_(self) -> None:
        if self.runner.running or not (self._prompt_text + self._completion):
            return
        self._continuing = True
        self.generate()
        if not self.runner.running:
            self._continuing = False

    def regenerate(self) -> None:
        if self.runner.running:
            return
        self.seed.setValue(random.randint(0, MAX_SEED))
        self.generate()

    # --- save / open --------------------------------------------------------------------
    def has_result(self) -> bool:
        return bool(self._completion) and self.result_params is not None

    def default_save_name(self) -> str:
        p = self.result_params or {}
        return f"{p.get('model', 'text')}-seed{p.get('seed', 0)}.txt"

    def save_result(self, path: str) -> None:
        save_text(path, self._prompt_text + self._completion, self.result_params)

    def open_result(self, path: str) -> None:
        text, params = read_text_file(path)
        prompt = str(params.get("prompt", ""))
        if not text.startswith(prompt):
            prompt = ""
        self._prompt_text, self._completion = prompt, text[len(prompt):]
        self._render_prompt()
        cursor = self.output.textCursor()
        cursor.insertText(self._completion)
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
                           ("seed", self.seed.value())):
            settings.setValue(f"text/{key}", value)

    def restore_settings(self, settings) -> None:
        super().restore_settings(settings)
        self.prompt.setPlainText(str(settings.value("text/prompt", DEFAULT_PROMPT)))
        self.temperature.setValue(float(settings.value("text/temperature", 0.8)))
        self.top_k.setValue(int(settings.value("text/top_k", 0)))
        self.top_p.setValue(float(settings.value("text/top_p", 1.0)))
        self.length.setValue(int(settings.value("text/length", 600)))
        self.stops.setText(str(settings.value("text/stop", "")))
        self.seed.setValue(int(settings.value("text/seed", 1)))
