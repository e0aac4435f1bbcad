"""An inpainting session: the picture, its mask and their one history, a fill as it grows,
the variations to choose from and what was accepted. The Inpaint mode renders this."""
from __future__ import annotations

import io

import numpy as np

from ..mask_editing import MaskEditor
from ..media import MediaError, read_image
from .canvas import CanvasState

MODE_NAMES = {"1": "1-bit", "L": "grey", "LA": "grey + alpha", "P": "palette",
              "RGB": "RGB", "RGBA": "RGBA", "CMYK": "CMYK", "I;16": "16-bit grey"}


class FillState:
    """The n variations of one fill as they grow; with K candidates per variation (the
    resampling method) the sampler draws n * K fills and keeps one per variation."""

    def __init__(self, codec, image: np.ndarray, mask: np.ndarray, n: int, candidates: int = 1):
        self.image, self.mask = image, mask.copy()          # (C, H, W) levels; (H, W)
        self.n, self.k = n, candidates
        self.canvas = CanvasState(codec, n * candidates, start=image, known=~mask)
        self.result: np.ndarray | None = None               # (n, C, H, W) once finished

    @property
    def done(self) -> int:
        return self.canvas.done

    @property
    def total(self) -> int:
        return self.canvas.total

    @property
    def pending(self) -> np.ndarray:
        """(H, W): hidden pixels not drawn yet."""
        return ~self.canvas.drawn

    def apply(self, events) -> None:
        self.canvas.apply(events)
        if self.canvas.result is not None and self.result is None:
            # Known pixels are copied from the image, whatever the sampler returned.
            self.result = np.where(self.mask, self.canvas.result.levels, self.image[None])

    def variations(self) -> np.ndarray:
        """(n, C, H, W): the result, or so far the first candidate of each variation."""
        return self.result if self.result is not None else self.canvas.levels[::self.k]


class InpaintSession:
    def __init__(self) -> None:
        self.codec = None
        self.editor: MaskEditor | None = None
        self.loaded: np.ndarray | None = None       # the picture as loaded, before any Accept
        self.source: tuple[bytes, str] | None = None
        self.note = "No image yet"
        self.fill: FillState | None = None
        self.fill_request = None                    # the InpaintRequest being filled
        self.staged: np.ndarray | None = None       # (n, C, H, W) variations to choose from
        self.staged_request = None
        self.staged_complete = True
        self.current = 0                            # the variation shown
        self.accepted: dict | None = None           # what the last Accept took, for Save

    # --- the picture --------------------------------------------------------------------
    @property
    def image(self) -> np.ndarray | None:
        if self.editor is None or self.editor.picture is None:
            return None
        picture = self.editor.picture                                  # (C, H, W) levels
        assert isinstance(picture, np.ndarray)
        return picture

    def set_codec(self, codec) -> None:
        """A model's codec decides the picture's shape and levels: converted anew."""
        if codec == self.codec:
            return
        self.codec = codec
        self.discard()
        if codec is None:
            self.editor = None
        elif self.source is not None:
            self.load(*self.source)

    def load(self, data: bytes, label: str) -> None:
        """Convert an image file's bytes to the model's shape and levels (MediaError if not)."""
        from PIL import Image

        if self.codec is None:
            raise MediaError("choose an image model first: the image is converted to its shape")
        c = self.codec
        editor = self.editor
        try:
            pixels = read_image(io.BytesIO(data), c.height, c.width, c.channels)
            with Image.open(io.BytesIO(data)) as im:
                size, mode = im.size, MODE_NAMES.get(im.mode, im.mode)
        except MediaError as err:
            raise MediaError(f"{label}: {err}") from None
        self.source = (data, label)
        keep_mask = editor is not None and editor.mask.shape == (c.height, c.width)
        mask = editor.mask.copy() if editor is not None and keep_mask else None
        self.editor = MaskEditor(c.height, c.width)
        if mask is not None:
            self.editor.mask = mask                 # a new picture keeps the painted mask
        self.editor.picture = self.loaded = c.encode(pixels).astype(np.int64)
        self.discard()
        self.accepted = None
        colours = "grey" if c.channels == 1 else "RGB"
        self.note = (f"{label}: converted from {size[0]}\u00d7{size[1]} {mode} to "
                     f"{c.width}\u00d7{c.height} {colours}, {c.levels} levels")

    def has_image(self) -> bool:
        return self.image is not None

    def has_result(self) -> bool:
        """Something worth saving: variations, or a picture changed by an accepted fill."""
        image = self.image
        return self.staged is not None or (
            image is not None and self.loaded is not None and
            not np.array_equal(image, self.loaded))

    # --- history (mask edits and accepted fills, in the order they happened) -------------
    def undo(self) -> bool:
        return self.fill is None and self.editor is not None and self.editor.undo()

    def redo(self) -> bool:
        return self.fill is None and self.editor is not None and self.editor.redo()

    def can_undo(self) -> bool:
        return self.fill is None and self.editor is not None and self.editor.can_undo()

    def can_redo(self) -> bool:
        return self.fill is None and self.editor is not None and self.editor.can_redo()

    # --- a fill -------------------------------------------------------------------------
    def begin(self, request) -> FillState:
        """Start filling for an InpaintRequest made from this session's picture and mask."""
        self.discard()
        k = request.candidates if request.method_key == "resample" else 1
        self.fill = FillState(self.codec, request.image, request.mask, request.n, k)
        self.fill_request = request
        return self.fill

    def apply(self, events) -> None:
        if self.fill is not None:
            self.fill.apply(events)

    def finish(self, how: str) -> None:
        """Stage what the fill made, complete or not: every variation is a valid image."""
        fill, self.fill = self.fill, None
        if fill is None:
            return
        fill.canvas.end()
        if how in ("finished", "cancelled") and fill.done > 0:
            self.staged = fill.variations().copy()
            self.staged_request = self.fill_request
            self.staged_complete = how == "finished"
            self.current = 0

    def choose(self, index: int) -> None:
        if self.staged is not None:
            self.current = max(0, min(index, len(self.staged) - 1))

    def accept(self) -> int | None:
        """The shown variation becomes the picture (one undoable step); its index."""
        if self.staged is None or self.fill is not None or self.editor is None:
            return None
        chosen = self.current
        self.accepted = {"request": self.staged_request, "variation": chosen,
                         "complete": self.staged_complete}
        self.editor.set_picture(self.staged[chosen].copy())
        self.discard()
        return chosen

    def discard(self) -> None:
        self.staged = self.staged_request = None
        self.current = 0

    # --- what is shown and saved --------------------------------------------------------
    def shown_levels(self) -> np.ndarray | None:
        """The variation shown, or the picture when nothing is staged."""
        return self.staged[self.current] if self.staged is not None else self.image

    def save_params(self, facts) -> dict:
        """The parameters of what Save writes: the shown variation, or the picture as
        changed by the last accepted fill. Empty when no fill made it."""
        if self.staged is not None:
            request, variation, complete = self.staged_request, self.current, \
                self.staged_complete
        elif self.accepted is not None and self.has_result():
            request, variation, complete = (self.accepted["request"],
                                            self.accepted["variation"],
                                            self.accepted["complete"])
        else:
            return {}
        if request is None:
            return {}
        return {**request.to_params(facts), "variation": variation, "complete": complete}
