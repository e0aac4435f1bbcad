"""Opening or dropping hostile model files: a readable message, the chosen models stay chosen,
and the app still generates afterwards."""
from tests.hostile_files import CASES, markers

# One of each way a file goes wrong: exploits, foreign formats, broken headers, broken
# weights (caught only when the weights are read), broken metadata.
OPENED = ("pickle-that-runs-a-command", "pytorch-zip-that-runs-a-command",
          "legacy-pytorch-pickle", "zip-that-is-not-pytorch", "header-longer-than-file",
          "huge-length-field", "overlapping-offsets", "nan-weights", "huge-weights",
          "integer-weights", "config-not-matching-weights", "config-with-unknown-keys",
          "codec-not-matching-config", "empty-file", "directory")


def chosen(window):
    return [tab.picker.current().path for tab in window.generating_tabs()]


def drop(window, path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))


def test_hostile_files_are_refused_and_the_app_stays_usable(window, qtbot, tmp_path):
    before = chosen(window)
    counts = [tab.picker.count() for tab in window.generating_tabs()]
    for i, case in enumerate(OPENED):
        build, words = CASES[case]
        path = build(tmp_path)
        if i % 2:
            drop(window, path)            # dropped files go the same way as opened ones
        else:
            window.open_path(str(path))
        message = window.current_tab().message
        assert not message.isHidden(), case
        assert message.text().startswith(f"{path}: ") and words in message.text(), case
        assert chosen(window) == before, case
        assert [tab.picker.count() for tab in window.generating_tabs()] == counts, case
        message.hide()
    assert not any(m.exists() for m in markers(tmp_path))
    image = window.image_tab
    window.tabs.setCurrentWidget(image)
    image.grid.setValue(1)
    image.generate()
    qtbot.waitUntil(lambda: not image.runner.running, timeout=30000)
    assert "Done" in image.stats.text() and image.message.isHidden()
