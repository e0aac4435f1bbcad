"""Scrolling a panel must not change the spin box or list that passes under the mouse: a
spin box, combo box or slider takes the wheel only once it has the focus (clicked or
tabbed to); until then the wheel scrolls the panel around it."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QScrollBar,
    QWidget,
)

GUARDED = (QAbstractSpinBox, QComboBox, QAbstractSlider)


class WheelGuard(QObject):
    """Installed on each guarded control, not on the application: an application-wide
    filter would run in Python for every event of every widget (each repaint while a grid
    is drawn) to act on the wheel over a few."""

    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.Wheel or obj.hasFocus():
            return False
        area = _scroll_area_around(obj)
        if area is not None:
            bar = area.verticalScrollBar() if abs(event.angleDelta().y()) >= \
                abs(event.angleDelta().x()) else area.horizontalScrollBar()
            bar.event(event)          # scroll the panel instead
        return True                   # never the value under the mouse


def _scroll_area_around(widget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return parent
        parent = parent.parentWidget()
    return None


def guard_wheels(root: QWidget) -> WheelGuard:
    """Guard every spin box, combo box and slider under `root` (scroll bars are sliders too:
    they keep the wheel), and give them click-or-tab focus instead of wheel focus."""
    guard = WheelGuard(root)
    for child in root.findChildren(QWidget):
        if isinstance(child, GUARDED) and not isinstance(child, QScrollBar):
            if child.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                child.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            child.installEventFilter(guard)
    return guard
