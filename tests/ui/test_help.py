"""Help: the shortcuts sheet lists every shortcut the window has, the README opens in a
window, About names the version and the models' licences, and the Parameters viewer reads
any saved result and sends it to its tab."""
import numpy as np
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton

from app import __version__
from app.core.outputs import save_png
from tests.ui.test_tabs import wait_done


def _native(keys) -> str:
    return keys.toString(QKeySequence.SequenceFormat.NativeText)


def test_the_shortcuts_sheet_lists_every_shortcut_of_the_window(window):
    from app.ui.help_dialogs import ShortcutsDialog

    window.image_tab.set_mode("inpaint")           # the mask tools' shortcuts exist too
    dialog = ShortcutsDialog(window)
    listed = {k for keys, _, _ in dialog.rows for k in keys.split(" or ")}
    every = {_native(a.shortcut()) for a in window.findChildren(QAction)
             if not a.shortcut().isEmpty()}
    every |= {_native(s.key()) for s in window.findChildren(QShortcut)}
    every |= {_native(b.shortcut()) for b in window.findChildren(QAbstractButton)
              if not b.shortcut().isEmpty()}
    assert every and every <= listed
    assert all(what for _, what, _ in dialog.rows)             # each says what it does
    rows = {(keys, what) for keys, what, _ in dialog.rows}
    for keys, what in (("Ctrl+H", "History"), ("Ctrl+O", "Open"),
                       ("Ctrl+Z", "Undo a mask edit"), ("Ctrl+/", "Keyboard shortcuts")):
        assert (_native(QKeySequence(keys)), what) in rows, (keys, what)
    # The same keys doing the same in several places: one row.
    generate = [r for r in dialog.rows if r[1] == "Generate"]
    assert generate == [("Ctrl+Return or Ctrl+Enter", "Generate", "Audio, Image and Text tabs")]
    assert ("B", "Paint the region to fill (right button erases)", "Image tab") in dialog.rows
    assert dialog.table.rowCount() == len(dialog.rows)


def test_the_readme_opens_in_a_window_with_its_pictures_fitted(window):
    from PySide6.QtGui import QTextImageFormat

    from app.ui.help_dialogs import README_IMAGE_WIDTH, ReadmeDialog

    dialog = ReadmeDialog(window)
    text = dialog.browser.toPlainText()
    assert "chainrule" in text and "pytest" in text
    widths = []
    block = dialog.browser.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            if fmt.isImageFormat():
                widths.append(QTextImageFormat(fmt.toImageFormat()).width())
            it += 1
        block = block.next()
    assert widths and max(widths) <= README_IMAGE_WIDTH


def test_about_names_the_version_and_each_models_data_licence(window):
    from app.ui.help_dialogs import about_html

    dialog = window.about()
    text = dialog.browser.toPlainText()
    assert __version__ in text and "MIT" in text
    dialog.close()
    html = about_html([("mnist", {"data": {"source": "MNIST <5k>", "license": "BSD-3-Clause"}}),
                       ("mine", {"description": "imported"})])
    assert "BSD-3-Clause" in html and "MNIST &lt;5k&gt;" in html and "not recorded" in html


def test_the_parameters_viewer_reads_a_result_and_sends_it_to_its_tab(window, qtbot, tmp_path):
    tab = window.image_tab
    tab.grid.setValue(1)
    tab.seed.setValue(4242)
    tab.generate()
    wait_done(qtbot, tab)
    path = tmp_path / "made.png"
    tab.save_result(str(path))
    tab.seed.setValue(1)
    window.tabs.setCurrentWidget(window.text_tab)
    viewer = window.show_params_viewer(str(path))
    values = {viewer.table.item(r, 0).text(): viewer.table.item(r, 1).text()
              for r in range(viewer.table.rowCount())}
    assert values["seed"] == "4242" and values["model"] == "digits"
    assert viewer.send_button.isEnabled()
    viewer.send_button.click()
    assert window.current_tab() is tab and tab.seed.value() == 4242


def test_the_parameters_viewer_says_what_a_file_lacks(window, tmp_path):
    from app.ui.params_viewer import ParamsViewer

    viewer = ParamsViewer(window)
    plain = save_png(tmp_path / "plain.png", np.zeros((4, 4, 3), np.uint8), {})
    viewer.show_file(str(plain))
    assert "no chainrule parameters" in viewer.file_label.text()
    assert viewer.table.rowCount() == 0 and viewer.send_button.isEnabled()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    viewer.show_file(str(broken))
    assert "cannot be read" in viewer.file_label.text() and not viewer.send_button.isEnabled()
    viewer.show_file(str(tmp_path / "model.bin"))
    assert "not a PNG, WAV or text file" in viewer.file_label.text()
