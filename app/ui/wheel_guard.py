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
)

GUARDED = (QAbstractSpinBox, QComboBox, QAbstractSlider)


class WheelGuard(QObject):
    def eventFilter(self, obj, event) -> bool:
        # Scroll bars are sliders too: they keep the wheel.
        if event.type() != QEvent.Type.Wheel or not isinstance(obj, GUARDED) or \
                isinstance(obj, QScrollBar) or obj.hasFocus():
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


def install_wheel_guard(app) -> WheelGuard:
    """Install once per application; the spin boxes stop taking focus from the wheel."""
    guard = getattr(app, "_chainrule_wheel_guard", None)
    if guard is None:
        guard = WheelGuard(app)
        app.installEventFilter(guard)
        app._chainrule_wheel_guard = guard
    return guard


def focus_by_click(widget) -> None:
    """Give the guarded controls under `widget` click-or-tab focus instead of wheel focus."""
    for child in widget.findChildren(QObject):
        if isinstance(child, GUARDED) and child.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            child.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
