"""Small shared controls: model picker, seed box with a dice button, run stats line."""
from __future__ import annotations

import random
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QWidget,
)

from ...core.checkpoint import CheckpointError, read_metadata
from ...core.paths import list_models
from ...core.recommended import recommended
from ...core.registry import KINDS

MAX_SEED = 2**31 - 1


class ModelInfo:
    """What a view needs to know about a checkpoint before loading it (header only)."""

    def __init__(self, path: Path, meta: dict):
        self.path = Path(path)
        self.name = self.path.stem          # what `--model NAME` and the lists call it
        self.kind = meta["kind"]
        self.config = meta["config"]
        self.codec = meta["codec"]
        self.provenance = meta["provenance"]

    @property
    def class_names(self) -> list[str]:
        count = int(self.config.get("num_classes", 0) or 0)
        names = list(self.codec.get("class_names") or [])
        return (names + [str(i) for i in range(len(names), count)])[:count]

    @property
    def summary(self) -> str:
        metrics = self.provenance.get("metrics") or {}
        title = KINDS[self.kind].title if self.kind in KINDS else self.kind
        text = f"{title}"
        if metrics:
            text += f", held-out {metrics.get('heldout')} {metrics.get('unit', '')}"
        settings = recommended(self.provenance)
        best = ([f"temperature {settings['temperature']:g}"] if "temperature" in settings
                else []) + ([f"{settings['voice_temperature']:g} while loud"]
                            if "voice_temperature" in settings else []) \
            + ([f"guidance {settings['guidance']:g}"] if "guidance" in settings else [])
        if best:
            text += f"; best at {', '.join(best)} (measured)"
        return text


def model_info(path) -> ModelInfo:
    return ModelInfo(Path(path), read_metadata(path))


class ModelPicker(QComboBox):
    """Lists bundled and user models of one modality; opened files can be added."""

    model_changed = Signal(object)      # ModelInfo or None

    def __init__(self, modality: str, parent=None):
        super().__init__(parent)
        self.modality = modality
        self.setMinimumContentsLength(14)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.currentIndexChanged.connect(lambda _: self.model_changed.emit(self.current()))
        self.refresh()

    def refresh(self) -> None:
        """Re-scan the model folders, keeping the current choice and any opened files.

        `model_changed` is emitted only when the choice is another model than before (the
        kept one is gone, or its file now holds another model), never for the re-scan alone.
        """
        keep = self.current()
        listed = list_models()
        known = {p for _, p, _ in listed}
        # Opened files stay listed while they exist (a model deleted or renamed in the
        # model manager goes).
        extra = [self.itemData(i) for i in range(self.count())
                 if self.itemData(i) and self.itemData(i).path not in known
                 and self.itemData(i).path.is_file()]
        self.blockSignals(True)
        try:
            self.clear()
            for name, path, origin in listed:
                try:
                    info = model_info(path)
                except CheckpointError:
                    continue
                if KINDS.get(info.kind) and KINDS[info.kind].modality == self.modality:
                    self._add(info, name if origin == "bundled" else f"{name} (yours)")
            for info in extra:
                self._add(info, f"{info.name} ({info.path.name})")
            if keep is not None:
                self.select_path(keep.path)
        finally:
            self.blockSignals(False)
        if not self._same_model(keep, self.current()):
            self.model_changed.emit(self.current())

    def _add(self, info: ModelInfo, label: str) -> None:
        self.addItem(label, info)
        self.setItemData(self.count() - 1, f"{info.path}\n{info.summary}",
                         Qt.ItemDataRole.ToolTipRole)

    def add_file(self, path) -> ModelInfo:
        """Add (or select) a checkpoint file; raises CheckpointError for a bad one."""
        info = model_info(path)
        if KINDS.get(info.kind) is None or KINDS[info.kind].modality != self.modality:
            raise CheckpointError(path, f"is a {info.kind} model, not a {self.modality} model")
        if not self.select_path(info.path):
            self._add(info, f"{info.name} ({info.path.name})")
            self.setCurrentIndex(self.count() - 1)
        return info

    def select_path(self, path) -> bool:
        for i in range(self.count()):
            if self.itemData(i).path.resolve() == Path(path).resolve():
                self.setCurrentIndex(i)
                return True
        return False

    def select_name(self, name: str) -> bool:
        for i in range(self.count()):
            if self.itemData(i).name == name or self.itemData(i).path.stem == name:
                self.setCurrentIndex(i)
                return True
        return False

    def current(self) -> ModelInfo | None:
        return self.currentData()

    @staticmethod
    def _same_model(a: ModelInfo | None, b: ModelInfo | None) -> bool:
        if a is None or b is None:
            return a is b
        return a.path.resolve() == b.path.resolve() and \
            (a.kind, a.config, a.codec, a.provenance) == (b.kind, b.config, b.codec,
                                                          b.provenance)


class LabelPicker(QComboBox):
    """'any' plus the model's class names; disabled for unconditional models."""

    def set_classes(self, names: list[str]) -> None:
        keep = self.currentText()
        self.clear()
        self.addItem("any", None)
        for i, name in enumerate(names):
            self.addItem(name, i)
        self.setEnabled(bool(names))
        index = self.findText(keep)
        self.setCurrentIndex(max(index, 0))

    def label(self) -> int | None:
        return self.currentData()

    def set_label(self, value) -> None:
        for i in range(self.count()):
            if self.itemData(i) == value or self.itemText(i) == str(value):
                self.setCurrentIndex(i)
                return


class SeedBox(QWidget):
    """The seed of the next run: a new random one each run unless locked (what people know
    from Stable-Diffusion UIs), the one used shown in the box, a dice to roll one now.

    Typing or rolling a seed, or restoring a result's parameters, locks it: the next run
    repeats that result. Unlocking goes back to a new seed each run."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.spin = QSpinBox()
        self.spin.setRange(0, MAX_SEED)
        self.spin.setValue(1)
        self.spin.setAccessibleName("Seed")
        self.lock = QToolButton()
        self.lock.setCheckable(True)
        self.lock.setAccessibleName("Keep this seed")
        self.lock.toggled.connect(self._show_lock)
        self.dice = QToolButton()
        self.dice.setText("\u2684")          # a die face
        self.dice.setToolTip("Roll a random seed now and keep it")
        self.dice.setAccessibleName("Random seed")
        self.dice.clicked.connect(self.roll)
        layout.addWidget(self.spin, 1)
        layout.addWidget(self.lock)
        layout.addWidget(self.dice)
        self._show_lock(False)
        # A person's edit locks the seed; the box's own updates pass through _show.
        self._setting = False
        self.spin.valueChanged.connect(self._edited)

    def _edited(self, _value: int) -> None:
        if not self._setting:
            self.lock.setChecked(True)

    def _show_lock(self, locked: bool) -> None:
        self.lock.setText("\U0001f512" if locked else "\U0001f513")      # closed / open padlock
        self.lock.setToolTip("Seed kept for every run: click for a new random seed each run"
                             if locked else
                             "A new random seed each run (the one used is shown): click to "
                             "keep it")
        self.spin.setToolTip("Seed of the next run (kept)" if locked else
                             "Seed of the last run; the next run draws a new one")

    def locked(self) -> bool:
        return self.lock.isChecked()

    def set_locked(self, locked: bool) -> None:
        self.lock.setChecked(bool(locked))

    def for_run(self) -> int:
        """The seed a new run uses: the box's own when locked, else a fresh random one,
        shown in the box so the result's seed can be read, typed or kept."""
        if not self.locked():
            self._show(random.randint(0, MAX_SEED))
        return self.value()

    def roll(self) -> None:
        self.setValue(random.randint(0, MAX_SEED))

    def value(self) -> int:
        return self.spin.value()

    def setValue(self, value: int) -> None:
        """Use this seed from now on (as typing it, or restoring a saved result's
        parameters, does): it is kept, so the next run draws that result again."""
        self._show(value)
        self.set_locked(True)

    def _show(self, value: int) -> None:
        self._setting = True
        try:
            self.spin.setValue(int(value))
        finally:
            self._setting = False

    def save_settings(self, settings, prefix: str) -> None:
        settings.setValue(f"{prefix}/seed", self.value())
        settings.setValue(f"{prefix}/seed_locked", self.locked())

    def restore_settings(self, settings, prefix: str) -> None:
        self._show(int(settings.value(f"{prefix}/seed", 1)))
        # QSettings may hand a bool back as the string 'false'
        self.set_locked(str(settings.value(f"{prefix}/seed_locked", False)).lower()
                        in ("true", "1"))


class StatsLabel(QLabel):
    """One line of run statistics in a muted, fixed-width-digit style."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("stats")
        self.setWordWrap(True)         # long lines wrap instead of widening the column
        self.setText(" ")


def format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


def number_box(low: float, high: float, value: float, step: float, suffix: str = "",
               decimals: int = 2) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(value)
    box.setSuffix(suffix)
    return box


def temperature_box(value: float = 1.0, low: float = 0.05) -> QDoubleSpinBox:
    box = number_box(low, 2.0, value, 0.05)
    box.setToolTip("Below 1: safer, more typical samples; above 1: wilder ones")
    return box


def guidance_box() -> QDoubleSpinBox:
    from ...core.sampling.guidance import DEFAULT_SCALE, MAX_SCALE

    box = number_box(0.0, MAX_SCALE, DEFAULT_SCALE, 0.5)
    box.setToolTip("Classifier-free guidance: above 1 each pixel leans towards the chosen "
                   "class, so it shows more clearly (and the images vary less); 1 draws from "
                   "the model itself. Twice the work per pixel")
    return box


def control_column(panel: QWidget, width: int) -> QScrollArea:
    """The left column of a tab: fixed width, scrolls vertically when the window is short."""
    scroll = QScrollArea()
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setFixedWidth(width)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return scroll


class ModeSwitchWidget(QWidget):
    """A segmented switch between a tab's modes ('Generate | Inpaint')."""

    mode_changed = Signal(str)

    def __init__(self, modes: dict[str, str], parent=None):
        super().__init__(parent)
        self.setObjectName("modeSwitch")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.buttons: dict[str, QPushButton] = {}
        group = QButtonGroup(self)
        for i, (key, tip) in enumerate(modes.items()):
            button = QPushButton(key.capitalize())
            button.setCheckable(True)
            button.setToolTip(tip)
            button.setObjectName("segment-first" if i == 0 else
                                 "segment-last" if i == len(modes) - 1 else "segment")
            button.clicked.connect(lambda _checked=False, k=key: self.set_mode(k, True))
            group.addButton(button)
            layout.addWidget(button, 1)
            self.buttons[key] = button
        self.mode = next(iter(modes))
        self.buttons[self.mode].setChecked(True)

    def set_mode(self, mode: str, announce: bool = True) -> None:
        changed = mode != self.mode
        self.mode = mode
        self.buttons[mode].setChecked(True)
        if changed and announce:
            self.mode_changed.emit(mode)


class CallsBox(QComboBox):
    """Network calls for an any-order model: all (one per sub-pixel, the exact chain) or a
    budget, each labelled with the bits/dim it gives up when the model's per-step losses
    have been measured (app/core/step_losses.py; the first budgeted run measures them)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._path = None
        self.fit(None, 0, False)

    def fit(self, path, dims: int, parallel: bool) -> None:
        from ...core.step_losses import BUDGETS, cached_costs

        keep = self.calls()
        costs = (cached_costs(path) if parallel and path is not None else None) or {}
        self.blockSignals(True)
        self.clear()
        self.addItem("All (one per sub-pixel)", 0)
        for calls in BUDGETS:
            if calls >= dims > 0:
                continue
            cost = costs.get(calls)
            self.addItem(f"{calls}" + (f" (+{cost:.3f} bits/dim)" if cost is not None else ""),
                         calls)
        self.setCurrentIndex(max(0, self.findData(keep)))
        self.blockSignals(False)
        self.setEnabled(parallel)
        self.setToolTip(
            "Draw several pixels per network call (Autoregressive Diffusion Models' parallel "
            "decoding): fewer calls are faster and give up a little likelihood, shown in "
            "bits/dim once measured on held-out images" if parallel else
            "Only an any-order model draws several pixels per network call")

    def calls(self) -> int:
        data = self.currentData()
        return int(data) if isinstance(data, int) and self.isEnabled() else 0
