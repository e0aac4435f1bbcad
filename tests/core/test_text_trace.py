"""The Text tab's state without a window (app/core/state/text_trace.py): what each generated
or scored character was, its candidates, and how a branch keeps the text before it."""
import math

import numpy as np
import pytest

from app.core.checkpoint import Bundle
from app.core.explain import score
from app.core.sampling.events import TextDelta
from app.core.sampling.text import sample_text
from app.core.state.text_trace import (
    BANDS,
    CharRecord,
    TextTrace,
    band,
    bits_of,
    branch_seed,
)
from tests.conftest import make_bundle

KIND = "charlm-lstm"


@pytest.fixture(scope="module")
def lstm():
    return make_bundle(KIND)


def sampled(net, codec, prompt="ab", length=40, seed=3, **kw) -> TextTrace:
    trace = TextTrace(prompt, budget=length)
    trace.apply(list(sample_text(net, codec, prompt, length, seed=seed, report=True, **kw)))
    return trace


def test_bands_run_from_near_certain_to_improbable():
    assert [band(p) for p in (0.99, 0.7, 0.3, 0.05, 0.001)] == [0, 1, 2, 3, 4]
    assert [band(p) for p in BANDS] == [1, 2, 3, 4]          # a band's edge belongs below
    assert bits_of(0.5) == 1.0 and bits_of(0.0) == math.inf
    assert CharRecord("a").band is None and CharRecord("a", 0.25).bits == 2.0


def test_a_sampled_trace_holds_every_character_with_its_candidates(lstm):
    net, codec = lstm
    trace = sampled(net, codec, temperature=0.9)
    plain = "".join(e.text for e in sample_text(net, codec, "ab", 40, seed=3, temperature=0.9)
                    if isinstance(e, TextDelta))
    assert trace.completion == plain and trace.text == "ab" + plain    # report changes nothing
    for record in trace.records:
        chars = [c for c, _ in record.candidates]
        total = sum(p for _, p in record.candidates)
        assert total <= 1 + 1e-6 and len(chars) == 10          # the tiny model has 12
        if record.char in chars:
            assert math.isclose(dict(record.candidates)[record.char], record.prob, rel_tol=1e-4)
        else:                           # an unlikely draw, below the ten listed
            assert record.prob <= record.candidates[-1][1] + 1e-6
    assert sum(r.char in dict(r.candidates) for r in trace.records) > 20
    assert trace.record_at(0) is None and trace.record_at(2) is trace.records[0]


def test_other_streams_are_left_out():
    trace = TextTrace()
    assert trace.apply([TextDelta(1, "x", 0.0), TextDelta(0, "y", math.log(0.5))]) \
        == [CharRecord("y", 0.5)]
    assert trace.completion == "y"


def test_a_branch_keeps_the_text_before_it_and_the_budget(lstm):
    net, codec = lstm
    trace = sampled(net, codec, length=30)
    before = trace.completion
    other = next(c for c, _ in trace.records[10].candidates if c != before[10])
    context, remaining = trace.branch(10, other)
    assert context == "ab" + before[:10] + other and remaining == 30 - 11
    assert trace.branch(10) == ("ab" + before[:10], 20)                # draw it again
    with pytest.raises(IndexError):
        trace.branch(30, "a")
    old = trace.records[10]
    trace.cut(10, other)
    assert trace.completion == before[:10] + other
    assert trace.records[10].prob == dict(old.candidates)[other]
    assert trace.records[10].candidates == old.candidates
    # The branch's own draws continue the kept text, up to the same budget.
    rest = sampled(net, codec, context, remaining, seed=branch_seed(3, 10, other))
    trace.records.extend(rest.records)
    assert trace.text.startswith("ab" + before[:10] + other) and len(trace) == 30
    trace.cut(5)
    assert trace.completion == before[:5]


def test_branch_seeds_are_fixed_per_branch_and_differ_between_branches():
    seeds = {branch_seed(1, i, c) for i in (0, 1) for c in ("a", "b", None)}
    assert len(seeds) == 6 and branch_seed(1, 0, "a") == branch_seed(1, 0, "a")
    assert all(0 <= s < 2**31 for s in seeds)


def test_a_scored_trace_adds_up_to_the_score(lstm):
    net, codec = lstm
    bundle = Bundle(KIND, "", KIND, net.config, codec, net=net)
    text = "abc def!\n" * 6
    result = score(bundle, text)
    trace = TextTrace.from_score(text, result, codec.vocab)
    assert trace.scored and trace.prompt == "a" and trace.completion == text[1:]
    assert math.isclose(trace.total_bits, result.total_bits, rel_tol=1e-9)
    bits = [r.bits for r in trace.records]
    assert np.allclose(bits, result.bits[0])
    first = trace.records[0]
    assert [c for c, _ in first.candidates] == [codec.vocab[v] for v in result.top_values[0, 0]]


def test_an_opened_text_has_no_distributions():
    trace = TextTrace.of_text("ROMEO: hi", "ROMEO:")
    assert trace.prompt == "ROMEO:" and trace.completion == " hi" and trace.budget == 3
    assert all(r.prob is None for r in trace.records) and trace.total_bits == 0
    assert TextTrace.of_text("abc", "xyz").prompt == ""
