"""Light and dark palettes (Fusion style) plus the shared style sheet in resources/."""
from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from ..core.paths import resources_dir

THEMES = ("system", "light", "dark")

_DARK = {
    QPalette.ColorRole.Window: "#1e222b", QPalette.ColorRole.WindowText: "#e6e9ef",
    QPalette.ColorRole.Base: "#161a21", QPalette.ColorRole.AlternateBase: "#232834",
    QPalette.ColorRole.Text: "#e6e9ef", QPalette.ColorRole.Button: "#2a303c",
    QPalette.ColorRole.ButtonText: "#e6e9ef", QPalette.ColorRole.Highlight: "#3d7eff",
    QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#2a303c",
    QPalette.ColorRole.ToolTipText: "#e6e9ef", QPalette.ColorRole.PlaceholderText: "#8a93a6",
    QPalette.ColorRole.Link: "#6ea8ff", QPalette.ColorRole.Mid: "#3a4150",
}
_LIGHT = {
    QPalette.ColorRole.Window: "#f4f5f7", QPalette.ColorRole.WindowText: "#1d2230",
    QPalette.ColorRole.Base: "#ffffff", QPalette.ColorRole.AlternateBase: "#eef0f4",
    QPalette.ColorRole.Text: "#1d2230", QPalette.ColorRole.Button: "#e9ebf0",
    QPalette.ColorRole.ButtonText: "#1d2230", QPalette.ColorRole.Highlight: "#2f6fed",
    QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#ffffff",
    QPalette.ColorRole.ToolTipText: "#1d2230", QPalette.ColorRole.PlaceholderText: "#7b8394",
    QPalette.ColorRole.Link: "#2f6fed", QPalette.ColorRole.Mid: "#c9ced8",
}


def apply_theme(app: QApplication, theme: str) -> str:
    """Apply 'system', 'light' or 'dark'; returns the theme actually shown."""
    app.setStyle(QStyleFactory.create("Fusion"))
    if theme == "system":
        hints = app.styleHints()
        dark = hasattr(hints, "colorScheme") and hints.colorScheme().name == "Dark"
        theme = "dark" if dark else "light"
    palette = QPalette()
    for role, colour in (_DARK if theme == "dark" else _LIGHT).items():
        palette.setColor(role, QColor(colour))
    disabled = QColor("#6b7385" if theme == "dark" else "#a0a6b3")
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    app.setPalette(palette)
    sheet = (resources_dir() / "style.qss").read_text(encoding="utf-8")
    for name, value in _SHEET_COLOURS[theme].items():
        sheet = sheet.replace(f"@{name}", value)
    app.setStyleSheet(sheet)
    return theme


# The style sheet's @names, per theme. Scroll handles contrast with their track the way
# the eye expects: darker than it in the light theme, lighter in the dark one.
_SHEET_COLOURS = {
    "light": {"muted": "#5f6778", "scroll_track": "#eceef2", "scroll_handle": "#a3aab8",
              "scroll_hover": "#7f8798"},
    "dark": {"muted": "#98a1b3", "scroll_track": "#1a1e26", "scroll_handle": "#4c5466",
             "scroll_hover": "#667086"},
}
