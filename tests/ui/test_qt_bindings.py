"""The Qt bindings themselves: a known-bad build would crash long sessions, so check it."""
import sys

from PySide6.QtWidgets import QLabel


def test_calling_qt_methods_does_not_leak_references_to_none(qtbot):
    # PySide6 6.12.0 decrements None's count once per call of a method returning nothing;
    # on Python < 3.12 None then reaches zero and the interpreter aborts mid-session.
    # (On 3.12+ None is immortal and its count does not move either way.)
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for i in range(2000):
        label.setText(str(i))
        label.setEnabled(i % 2 == 0)
    assert sys.getrefcount(None) - before > -50
