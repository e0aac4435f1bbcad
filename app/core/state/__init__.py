"""What a view shows, as plain objects the GUI thread folds events into (no Qt, no torch).

Widgets render these and never compute on them; tests drive them headless.
"""
from .canvas import CanvasState
from .inpaint import FillState, InpaintSession
from .text_trace import CharRecord, TextTrace

__all__ = ["CanvasState", "CharRecord", "FillState", "InpaintSession", "TextTrace"]
