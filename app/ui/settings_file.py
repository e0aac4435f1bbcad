"""The window's settings file (QSettings, INI, in the user's data folder), and the save
dialog every Save in the window shares: it opens where the last file was saved."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from ..core.paths import user_data_dir

LAST_SAVE_DIR = "last_save_dir"


def settings_store() -> QSettings:
    return QSettings(str(user_data_dir() / "settings.ini"), QSettings.Format.IniFormat)


def ask_save_path(parent, title: str, name: str, file_filter: str) -> str:
    """The path chosen in a save dialog opened in the last save folder ('' if cancelled)."""
    from PySide6.QtWidgets import QFileDialog

    folder = settings_store().value(LAST_SAVE_DIR, str(Path.home()))
    path, _ = QFileDialog.getSaveFileName(parent, title, str(Path(folder) / name), file_filter)
    return path


def remember_save_folder(path: str) -> None:
    settings_store().setValue(LAST_SAVE_DIR, str(Path(path).parent))
