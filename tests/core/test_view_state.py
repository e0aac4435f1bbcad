"""The Qt-free state the Image tab's views render: folding events, the inpaint session's one
history, what a saved file records. No Qt and no torch here."""
import io

import numpy as np
import pytest

from app.core.codecs import ImageCodec
from app.core.requests import InpaintRequest, ModelFacts
from app.core.sampling.events import ImageResult, PixelStep
from app.core.state import CanvasState, InpaintSession

CODEC = ImageCodec(4, 4, 1, 4)
FACTS = ModelFacts("tiny", "/models/tiny.safetensors", "pixelcnn", CODEC)


def steps(values_per_pixel, n=2, hidden=None):
    cells = np.argwhere(np.ones((4, 4), bool) if hidden is None else hidden)
    return [PixelStep(i, len(cells), int(r), int(c), 0, np.full(n, values_per_pixel))
            for i, (r, c) in enumerate(cells)]


def test_canvas_folds_pixels_and_the_result():
    state = CanvasState(CODEC, 2)
    events = steps(3)
    state.apply(events[:5])
    assert state.done == 5 and state.drawn.sum() == 5 and state.cursor == (1, 0)
    assert state.levels[:, 0, 1, 0].tolist() == [3, 3] and state.pixels[0, 1, 0, 0] == 255
    assert not state.finished
    levels = np.ones((2, 1, 4, 4), np.int64)
    state.apply([ImageResult(levels, CODEC.decode(levels))])
    assert state.finished and state.done == state.total == 16 and state.cursor is None
    state.end()
    assert state.elapsed_s == state.elapsed_s          # the clock stopped


def picture_bytes(value=80):
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.full((8, 8), value, np.uint8)).save(out, "PNG")
    return out.getvalue()


def session_with_hole():
    session = InpaintSession()
    session.set_codec(CODEC)
    session.load(picture_bytes(), "grey")
    session.editor.rectangle(1, 1, 2, 2)
    return session


def fill(session, n=3, value=3):
    request = InpaintRequest(model="tiny", method="raster", n=n, image=session.image.copy(),
                             mask=session.editor.mask.copy())
    session.begin(request)
    session.apply(steps(value, n=n, hidden=request.mask))
    levels = np.where(request.mask, value, request.image)[None].repeat(n, 0)
    session.apply([ImageResult(levels, CODEC.decode(levels))])
    session.finish("finished")
    return request


def test_accept_and_paint_are_undone_in_one_history_in_order():
    session = session_with_hole()
    before = session.image.copy()
    fill(session)
    session.choose(2)
    assert session.accept() == 2
    assert (session.image[0, 1:3, 1:3] == 3).all()
    session.editor.rectangle(3, 3, 3, 3)                 # paint after the accept
    assert session.undo() and session.editor.mask[3, 3] == 0 and (session.image[0, 1, 1] == 3)
    assert session.undo() and np.array_equal(session.image, before)     # the accept
    assert session.editor.mask[1:3, 1:3].all()                           # mask as it was
    assert session.redo() and (session.image[0, 1, 1] == 3)


def test_saved_parameters_name_the_accepted_variation():
    session = session_with_hole()
    assert session.save_params(FACTS) == {}
    fill(session, n=5)
    session.choose(4)
    assert session.save_params(FACTS)["variation"] == 4
    session.accept()
    params = session.save_params(FACTS)
    assert params["variation"] == 4 and params["hidden"] == 4 and params["complete"]
    assert params["mode"] == "inpaint" and params["version"] == 2


def test_a_stopped_fill_is_staged_as_incomplete_and_a_failed_one_not_at_all():
    session = session_with_hole()
    request = InpaintRequest(model="tiny", n=2, image=session.image.copy(),
                             mask=session.editor.mask.copy())
    session.begin(request)
    assert not session.can_undo()                        # no history while filling
    session.apply(steps(2, n=2, hidden=request.mask)[:2])
    session.finish("cancelled")
    assert session.staged is not None and not session.staged_complete
    session.begin(request)
    session.finish("error")
    assert session.staged is None


def test_a_new_model_converts_the_picture_and_keeps_nothing_stale():
    session = session_with_hole()
    fill(session)
    session.set_codec(ImageCodec(8, 8, 1, 16))
    assert session.image.shape == (1, 8, 8) and session.staged is None
    with pytest.raises(Exception, match="choose an image model"):
        InpaintSession().load(picture_bytes(), "x")
