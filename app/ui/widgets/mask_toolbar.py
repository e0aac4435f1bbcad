"""The tool row above the mask canvas: tools, brush size, mask actions, history, zoom, colour."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QColorDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSlider,
    QToolButton,
    QWidget,
)

from .mask_canvas import MAX_BRUSH

SWATCHES = {"Rose": "#ff4060", "Amber": "#ffb020", "Cyan": "#20c8f0", "Green": "#30d070",
            "Violet": "#a060ff"}
TOOL_LABELS = {"brush": ("Brush", "B", "Paint the region to fill (right button erases)"),
               "eraser": ("Eraser", "E", "Erase from the region to fill"),
               "rectangle": ("Rectangle", "R", "Drag a rectangle to fill (right button or "
                                               "Shift erases one)")}


def swatch_icon(colour: QColor, size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(colour)
    return QIcon(pixmap)


def tool_button(text: str, tip: str, checkable: bool = False) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAccessibleName(text)
    button.setCheckable(checkable)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button


class MaskToolbarWidget(QWidget):
    tool_chosen = Signal(str)
    brush_size_changed = Signal(int)
    colour_chosen = Signal(QColor)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("maskTools")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.tools = QButtonGroup(self)
        self.tool_buttons = {}
        for name, (text, key, tip) in TOOL_LABELS.items():
            button = tool_button(text, f"{tip} ({key})", checkable=True)
            button.setShortcut(key)
            self.tools.addButton(button)
            self.tool_buttons[name] = button
            button.clicked.connect(lambda _checked=False, n=name: self.tool_chosen.emit(n))
            layout.addWidget(button)
        self.tool_buttons["brush"].setChecked(True)
        layout.addSpacing(6)
        layout.addWidget(QLabel("Size"))
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(1, MAX_BRUSH)
        self.size_slider.setFixedWidth(90)
        self.size_slider.setToolTip("Brush diameter in image pixels (or the mouse wheel)")
        self.size_label = QLabel()
        self.size_label.setObjectName("stats")
        self.size_label.setMinimumWidth(34)
        self.size_slider.valueChanged.connect(self._size_moved)
        layout.addWidget(self.size_slider)
        layout.addWidget(self.size_label)
        layout.addSpacing(10)
        self.invert_button = tool_button("Invert", "Swap hidden and known pixels (I)")
        self.invert_button.setShortcut("I")
        self.clear_button = tool_button("Clear", "Hide nothing")
        self.undo_button = tool_button("Undo", "Undo (Ctrl+Z)")
        self.redo_button = tool_button("Redo", "Redo (Ctrl+Shift+Z)")
        self.show_mask = tool_button("Show mask", "Tint the region to fill, or show only its "
                                                  "outline (M)", checkable=True)
        self.show_mask.setShortcut("M")
        self.show_mask.setChecked(True)
        for button in (self.invert_button, self.clear_button, self.undo_button,
                       self.redo_button, self.show_mask):
            layout.addWidget(button)
        layout.addStretch(1)
        self._build_view_bar()
        self.set_brush_size(4)

    def _build_view_bar(self) -> None:
        """Zoom and colour sit under the canvas, in `view_bar`: the tool row stays narrow
        enough for the window's default width."""
        self.view_bar = QWidget()
        self.view_bar.setObjectName("maskTools")
        layout = QHBoxLayout(self.view_bar)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.zoom_out = tool_button("\u2212", "Zoom out (Ctrl+wheel)")
        self.zoom_fit = tool_button("Fit", "Fit the image to the view; middle-drag or "
                                           "Space+drag pans")
        self.zoom_in = tool_button("+", "Zoom in (Ctrl+wheel)")
        for button in (self.zoom_out, self.zoom_fit, self.zoom_in):
            layout.addWidget(button)
        layout.addSpacing(8)
        self.open_mask_button = tool_button("Open mask\u2026", "Load a mask from an image file: "
                                            "white (light) pixels are filled")
        self.save_mask_button = tool_button("Save mask\u2026", "Save the mask as a PNG, white "
                                            "where pixels are filled")
        layout.addWidget(self.open_mask_button)
        layout.addWidget(self.save_mask_button)
        layout.addSpacing(8)
        self.colour_button = tool_button("Colour", "Colour of the mask overlay")
        self.colour_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.colour_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.colour_button.setMenu(self._colour_menu())
        layout.addWidget(self.colour_button)

    def _colour_menu(self) -> QMenu:
        menu = QMenu(self)
        for name, value in SWATCHES.items():
            action = menu.addAction(swatch_icon(QColor(value)), name)
            action.triggered.connect(lambda _c=False, v=value: self.set_colour(QColor(v), True))
        menu.addSeparator()
        menu.addAction("Other\u2026", self._pick_colour)
        return menu

    def _pick_colour(self) -> None:
        colour = QColorDialog.getColor(self.colour, self, "Mask colour")
        if colour.isValid():
            self.set_colour(colour, True)

    def set_colour(self, colour: QColor, announce: bool = False) -> None:
        self.colour = QColor(colour)
        self.colour_button.setIcon(swatch_icon(self.colour))
        if announce:
            self.colour_chosen.emit(self.colour)

    def _size_moved(self, value: int) -> None:
        self.size_label.setText(f"{value} px")
        self.brush_size_changed.emit(value)

    def set_brush_size(self, value: int) -> None:
        """Show a size set elsewhere (the wheel) without echoing it back."""
        self.size_slider.blockSignals(True)
        self.size_slider.setValue(value)
        self.size_slider.blockSignals(False)
        self.size_label.setText(f"{self.size_slider.value()} px")

    def set_tool(self, name: str) -> None:
        self.tool_buttons[name].setChecked(True)

    def set_history(self, can_undo: bool, can_redo: bool) -> None:
        self.undo_button.setEnabled(can_undo)
        self.redo_button.setEnabled(can_redo)
