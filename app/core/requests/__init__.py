"""Typed requests: what a user asked for, as one frozen value.

The CLI builds one from its arguments, a tab from its widgets (in the GUI thread), File >
Open from a saved file's parameters. Each request can say what is wrong with it for a model
(`check`, one line per problem, before any work), run (`events`, yielding the samplers'
events; in the worker thread) and write and read the parameters saved in result files
(`to_params` / `from_params`: one versioned key set for the CLI and the GUI alike).
"""
from .audio import AudioRequest
from .base import PARAMS_VERSION, ModelFacts, RequestError, parse_label
from .image import CompareRequest, ImageRequest
from .inpaint import InpaintRequest
from .text import TextRequest

__all__ = ["AudioRequest", "CompareRequest", "ImageRequest", "InpaintRequest", "ModelFacts",
           "PARAMS_VERSION", "RequestError", "TextRequest", "parse_label"]
