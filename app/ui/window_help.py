"""The window's Help menu: keyboard shortcuts, the README, a file's parameters, About."""
from __future__ import annotations

from PySide6.QtGui import QKeySequence


class HelpMenu:
    """Mixed into MainWindow (which provides _action and open_path)."""

    def build_help_menu(self, menu) -> None:
        self._action(menu, "&Keyboard shortcuts", self.show_shortcuts, QKeySequence("Ctrl+/"))
        self._action(menu, "&README", self.show_readme, QKeySequence.StandardKey.HelpContents)
        self._action(menu, "&Parameters of a file\u2026", self.show_params_viewer)
        menu.addSeparator()
        self._action(menu, "&About chainrule", self.about)

    def show_shortcuts(self) -> None:
        from .help_dialogs import ShortcutsDialog

        ShortcutsDialog(self).open()

    def show_readme(self) -> None:
        from .help_dialogs import ReadmeDialog

        ReadmeDialog(self).open()

    def show_params_viewer(self, path: str | None = None):
        from .params_viewer import ParamsViewer

        viewer = ParamsViewer(self)
        viewer.send_requested.connect(self.open_path)
        if path:
            viewer.show_file(path)
        viewer.open()
        return viewer

    def about(self):
        from ..core.model_manager import model_entries
        from .help_dialogs import AboutDialog

        # About lists the bundled models it can read (an unusable one has no metadata).
        bundled = [(e.name, e.meta["provenance"]) for e in model_entries()
                   if not e.own and e.meta is not None]
        dialog = AboutDialog(self, bundled)
        dialog.open()
        return dialog
