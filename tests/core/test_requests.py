"""The requests package on its own, without torch: saved parameters read back as the same
request, every check says what is wrong in one specific line, and first-release files read."""
import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest

from app.core.codecs import CharCodec, ImageCodec, MuLawCodec
from app.core.registry import method_mismatch
from app.core.requests import (
    PARAMS_VERSION,
    AudioRequest,
    CompareRequest,
    ImageRequest,
    InpaintRequest,
    ModelFacts,
    RequestError,
    TextRequest,
    parse_label,
)

CLASSES = ["zero", "one", "two"]


def image_facts(kind: str, name: str | None = None, classes: int = 3) -> ModelFacts:
    codec = ImageCodec(6, 5, 1, 16, CLASSES[:classes])
    name = name or kind
    return ModelFacts(name, f"/models/{name}.safetensors", kind, codec, classes)


PIXELCNN = image_facts("pixelcnn", "digits")
ANYORDER = image_facts("anyorder", "anywhere")
SUBSCALE = image_facts("subscale", "slices")
WAVENET = ModelFacts("speech", "/models/speech.safetensors", "wavenet",
                     MuLawCodec(8000, 256, ["a", "b"]), 2)
CHARLM = ModelFacts("bard", "/models/bard.safetensors", "charlm-lstm", CharCodec("\nab :!"))


def picture(hidden: bool = True):
    mask = np.zeros((6, 5), bool)
    mask[2:4, 1:4] = hidden
    return np.full((1, 6, 5), 3, np.int64), mask


def problems_of(request, facts) -> list[str]:
    with pytest.raises(RequestError) as info:
        request.check(facts)
    assert str(info.value) == "; ".join(info.value.problems)
    return info.value.problems


# --- saved parameters read back ---------------------------------------------------------

@pytest.mark.parametrize("request_, facts", [
    (ImageRequest(model="anywhere", n=4, label=2, temperature=0.5, seed=7, order="spiral"),
     ANYORDER),
    (ImageRequest(model="digits", n=1, label=None, temperature=2.0, seed=0, order="raster"),
     PIXELCNN),
    (AudioRequest(model="speech", seconds=1.5, label=1, temperature=0.9, seed=11), WAVENET),
    (TextRequest(model="bard", prompt="ab", length=30, temperature=0.7, top_k=3, top_p=0.9,
                 seed=5, n=2, stop=("\n\n", "!")), CHARLM),
    (InpaintRequest(model="digits", method="resample", candidates=5, order="raster", n=3,
                    label=0, temperature=0.8, seed=2), PIXELCNN),
    (InpaintRequest(model="anywhere", method="any-order", candidates=1, order="spiral", n=2,
                    temperature=1.2, seed=4), ANYORDER),
])
def test_parameters_read_back_as_the_same_request(request_, facts):
    params = request_.to_params(facts)
    assert params["version"] == PARAMS_VERSION and params["kind"] == facts.kind
    again = type(request_).from_params(params)
    assert again == request_
    assert again.to_params(facts) == params
    assert request_.problems(facts) == [] or isinstance(request_, InpaintRequest)


@pytest.mark.parametrize("order", ["", "raster", "nearest"])
def test_compare_parameters_read_back(order):
    other = image_facts("pixelcnn", "letters")
    request = CompareRequest(ImageRequest(model="anywhere", n=4, label=1, temperature=0.6,
                                          seed=3, order=order), other_model="letters")
    params = request.to_params(ANYORDER, other)
    assert params["models"] == ["anywhere", "letters"]
    assert params["orders"] == [order or "random", "raster"]
    assert CompareRequest.from_params(params) == request
    assert request.problems(ANYORDER, other) == []


def test_a_fixed_order_model_reads_back_the_order_it_draws_in():
    params = ImageRequest(model="slices", n=2).to_params(SUBSCALE)
    assert params["order"] == "subscale"
    again = ImageRequest.from_params(params)
    assert again.order_for(SUBSCALE) == "subscale" and again.problems(SUBSCALE) == []


def test_first_release_parameters_read_back():
    # No "version"; the any-order method spelled "anyorder"; the stop strings as typed.
    inpaint = InpaintRequest.from_params(
        {"model": "anywhere", "kind": "anyorder", "seed": 3, "method": "anyorder",
         "label": "any", "temperature": 1.0, "hidden_pixels": 6, "image": "in.png",
         "mask": "mask.png", "n": 2, "order": "spiral"})
    assert (inpaint.method, inpaint.order, inpaint.n, inpaint.seed, inpaint.label) == \
        ("any-order", "spiral", 2, 3, None)
    image, mask = picture()
    assert dataclasses.replace(inpaint, image=image, mask=mask).problems(ANYORDER) == []
    text = TextRequest.from_params(
        {"model": "bard", "kind": "charlm-lstm", "prompt": "ab", "length": 40,
         "stop": "\\n\\n, THE END", "temperature": 0.8, "top_k": 0, "top_p": 1.0, "seed": 9,
         "n": 1})
    assert text.stop == ("\n\n", " THE END") and text.length == 40 and text.seed == 9
    image_request = ImageRequest.from_params(
        {"model": "digits", "kind": "pixelcnn", "seed": 1, "label": 1, "label_name": "one",
         "temperature": 1.0, "order": "raster", "n": 16})
    assert image_request.label == 1 and image_request.problems(PIXELCNN) == []


def test_a_saved_value_of_the_wrong_type_is_a_clear_error():
    with pytest.raises(RequestError, match="'seed' in the saved parameters is not a int"):
        ImageRequest.from_params({"seed": "lots"})
    with pytest.raises(RequestError, match="label True"):
        ImageRequest.from_params({"label": True})


# --- checks -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [0, -1, 1e-40, math.nan, math.inf])
@pytest.mark.parametrize("request_, facts", [
    (ImageRequest(), PIXELCNN), (AudioRequest(), WAVENET), (TextRequest(), CHARLM),
    (InpaintRequest(image=picture()[0], mask=picture()[1]), PIXELCNN)])
def test_a_temperature_must_be_positive_and_finite(value, request_, facts):
    problems = problems_of(dataclasses.replace(request_, temperature=value), facts)
    assert problems == [f"temperature must be at least 0.01 and at most 10 (got {value!r})"]


@pytest.mark.parametrize("changes, line", [
    ({"top_p": 0}, "top-p must be more than 0 and at most 1 (got 0)"),
    ({"top_p": 5.0}, "top-p must be more than 0 and at most 1 (got 5.0)"),
    ({"top_k": -3}, "top-k must be a whole number at least 0 and at most 1,000,000 (got -3)"),
    ({"prompt": "abz"}, "the prompt has characters this model never saw: 'z'"),
    ({"stop": ("",)}, "a stop string cannot be empty"),
])
def test_text_checks(changes, line):
    assert problems_of(TextRequest(**changes), CHARLM) == [line]


def test_every_problem_is_listed_at_once():
    request = TextRequest(temperature=0, top_p=5.0, top_k=-3, seed=-1)
    assert [p.split(" ")[0] for p in problems_of(request, CHARLM)] == \
        ["temperature", "seed", "top-k", "top-p"]


def test_labels():
    assert problems_of(ImageRequest(label=3), PIXELCNN) == \
        ["unknown class 3 (this model's classes: zero, one, two)"]
    assert problems_of(AudioRequest(label=-1), WAVENET) == \
        ["unknown class -1 (this model's classes: a, b)"]
    unconditional = image_facts("pixelcnn", "plain", classes=0)
    assert problems_of(ImageRequest(label=0), unconditional) == \
        ["plain is not class-conditional; its class must be 'any'"]
    assert parse_label("TWO", PIXELCNN) == 2 and parse_label("1", PIXELCNN) == 1
    assert parse_label("any", PIXELCNN) is None and parse_label(None, unconditional) is None
    with pytest.raises(RequestError, match="unknown label '3'"):
        parse_label("3", PIXELCNN)
    with pytest.raises(RequestError, match="plain is not class-conditional"):
        parse_label("one", unconditional)


def test_orders():
    assert problems_of(ImageRequest(order="spiral"), PIXELCNN) == \
        [f"digits is {PIXELCNN.spec.article}: it draws in raster order only"]
    assert problems_of(ImageRequest(order="raster"), SUBSCALE) == \
        [f"slices is {SUBSCALE.spec.article}: it draws in subscale order only"]
    assert problems_of(ImageRequest(order="zigzag"), ANYORDER) == \
        ["unknown order 'zigzag' (known: raster, random, spiral, nearest, subscale)"]
    assert ImageRequest(order="subscale").problems(ANYORDER) == []


def test_wrong_modality_is_the_only_problem_said():
    assert problems_of(ImageRequest(temperature=0), WAVENET) == \
        [f"speech is {WAVENET.spec.article}, not a model of image"]


def test_inpaint_checks():
    image, mask = picture()
    ok = InpaintRequest(image=image, mask=mask)
    assert ok.problems(PIXELCNN) == [] and ok.hidden == 6
    # The sentence is the registry's; the request says which model it is about.
    for method in ("any-order", "anyorder"):
        assert problems_of(dataclasses.replace(ok, method=method), PIXELCNN) == \
            [f"digits: {method_mismatch('any-order', 'pixelcnn')}"]
    assert "needs an any-order model" in method_mismatch("any-order", "pixelcnn")
    assert problems_of(ok, SUBSCALE) == [f"slices: {method_mismatch('raster', 'subscale')}"]
    assert SUBSCALE.spec.why_no_inpaint in method_mismatch("raster", "subscale")
    assert problems_of(dataclasses.replace(ok, method="smudge"), PIXELCNN) == \
        ["unknown inpainting method 'smudge' (known: raster, resample, any-order)"]
    assert problems_of(dataclasses.replace(ok, mask=picture(hidden=False)[1]), PIXELCNN) == \
        ["the mask hides no pixel: paint the region to fill first"]
    assert problems_of(dataclasses.replace(ok, mask=np.ones((3, 3), bool)), PIXELCNN) == \
        ["the mask must be 6 x 5"]
    assert problems_of(dataclasses.replace(ok, method="resample", candidates=0), PIXELCNN) == \
        ["candidates must be a whole number at least 1 and at most 64 (got 0)"]


def test_compare_checks():
    left = ImageRequest(model="digits", label=1)
    same = problems_of_pair(CompareRequest(left, "digits"), PIXELCNN, PIXELCNN)
    assert same == ["choose two different models: the same one would draw the same images "
                    "twice"]
    other_classes = dataclasses.replace(image_facts("pixelcnn", "letters"),
                                        codec=ImageCodec(6, 5, 1, 16, ["x", "y", "z"]))
    assert problems_of_pair(CompareRequest(left, "letters"), PIXELCNN, other_classes) == \
        ["letters was trained on other classes than digits: choose class 'any', or two "
         "models trained on the same data"]
    assert problems_of_pair(CompareRequest(left, "speech"), PIXELCNN, WAVENET) == \
        [f"speech is {WAVENET.spec.article}, not an image model"]
    assert CompareRequest(left).problems(PIXELCNN) == ["choose a model to compare with"]
    assert problems_of_pair(CompareRequest(dataclasses.replace(left, order="spiral"), "x"),
                            PIXELCNN, SUBSCALE) == ["both models draw in their own order only"]


def problems_of_pair(request, facts, other) -> list[str]:
    with pytest.raises(RequestError) as info:
        request.check_pair(facts, other)
    return info.value.problems


def test_facts_of_a_header_with_a_codec_dict():
    info = SimpleNamespace(name="digits", path="/m/digits.safetensors", kind="pixelcnn",
                           codec=PIXELCNN.codec.to_dict(), config={"num_classes": 3})
    facts = ModelFacts.of(info)
    assert facts == PIXELCNN.__class__("digits", "/m/digits.safetensors", "pixelcnn",
                                       PIXELCNN.codec, 3)
    assert facts.class_names == CLASSES and ModelFacts.of(facts) is facts
