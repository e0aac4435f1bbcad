"""Mask editing: every stroke is one undo step, and undo / redo restore exact masks."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.mask_editing import MaskEditor


def test_a_stroke_is_continuous_and_one_undo_step():
    editor = MaskEditor(28, 28)
    editor.begin_stroke(14.0, 2.0, radius=1.0)
    editor.continue_stroke(14.0, 26.0, radius=1.0)        # one fast mouse move
    editor.end_stroke()
    assert editor.mask[14, 2:26].all()                     # no gaps along the line
    assert editor.undo() and not editor.mask.any()
    assert not editor.can_undo()


def test_eraser_rectangle_invert_clear_and_redo():
    editor = MaskEditor(10, 10)
    editor.rectangle(2, 2, 5, 6)
    assert editor.mask.sum() == 4 * 5
    editor.begin_stroke(3.5, 3.5, radius=0.5, erase=True)
    editor.end_stroke()
    assert not editor.mask[3, 3] and editor.mask.sum() == 19
    editor.invert()
    assert editor.mask.sum() == 100 - 19
    editor.clear()
    assert not editor.mask.any()
    for expected in (100 - 19, 19, 20, 0):
        editor.undo()
        assert editor.mask.sum() == expected
    editor.redo()
    editor.redo()
    assert editor.mask.sum() == 19 and not editor.mask[3, 3]   # rectangle, then the eraser
    editor.rectangle(0, 0, 0, 0)                           # a new action drops the redo
    assert not editor.can_redo()


def test_a_click_that_changes_nothing_is_not_an_undo_step():
    editor = MaskEditor(8, 8)
    editor.clear()
    editor.begin_stroke(1, 1, 1.0, erase=True)
    editor.end_stroke()
    assert not editor.can_undo()


actions = st.lists(st.one_of(
    st.tuples(st.just("stroke"), st.floats(-2, 12), st.floats(-2, 12), st.floats(-2, 12),
              st.floats(-2, 12), st.floats(0.3, 3), st.booleans()),
    st.tuples(st.just("rect"), st.integers(-1, 10), st.integers(-1, 10), st.integers(-1, 10),
              st.integers(-1, 10), st.booleans()),
    st.tuples(st.just("invert")), st.tuples(st.just("clear"))), max_size=25)


@settings(max_examples=60, deadline=None)
@given(actions)
def test_undo_then_redo_walks_back_and_forth_through_exact_masks(steps):
    editor = MaskEditor(10, 10)
    seen = [editor.mask.copy()]
    for step in steps:
        if step[0] == "stroke":
            _, r0, c0, r1, c1, radius, erase = step
            editor.begin_stroke(r0, c0, radius, erase)
            editor.continue_stroke(r1, c1, radius, erase)
            editor.end_stroke()
        elif step[0] == "rect":
            editor.rectangle(*step[1:5], erase=step[5])
        else:
            getattr(editor, step[0])()
        if not np.array_equal(editor.mask, seen[-1]):
            seen.append(editor.mask.copy())
    for expected in reversed(seen[:-1]):
        assert editor.undo() and np.array_equal(editor.mask, expected)
    assert not editor.undo()
    for expected in seen[1:]:
        assert editor.redo() and np.array_equal(editor.mask, expected)
    assert not editor.redo()
