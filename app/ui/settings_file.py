"""The window's settings file (QSettings, INI, in the user's data folder)."""
from __future__ import annotations

from PySide6.QtCore import QSettings

from ..core.paths import user_data_dir


def settings_store() -> QSettings:
    return QSettings(str(user_data_dir() / "settings.ini"), QSettings.Format.IniFormat)
