"""What a model kind can do is said once, by its row in app/core/registry.py.

No module outside the table, the configs that declare the kind names and the nets themselves
may test a kind's name: the moment one does, a new kind (one net file plus one row) would
silently miss a branch. The rows' function paths must import, and dispatching through them
must draw exactly what the direct calls draw.
"""
import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from app.core.registry import INPAINT_METHODS, KINDS, ORDERS, load_function
from tests.conftest import make_bundle

ROOT = Path(__file__).resolve().parents[2]
KIND_NAMES = set(KINDS) | {"charlm"}      # "charlm" once stood for both text kinds

# Where kind names belong.
ALLOWED = ("app/core/registry.py", "app/core/config.py", "app/core/nets/")

# A kind name that is also the name of something else, in the one file that means that.
NOT_A_KIND = {
    ("app/core/sampling/orders.py", "subscale"): "the subscale drawing order (one of ORDERS)",
    ("app/core/sampling/subscale.py", "subscale"): "the SPN sampler's default order argument",
    ("app/core/inpaint_eval.py", "anyorder"):
        "the any-order method's short name (METHOD_ALIASES), a key of published reports",
}

def kind_literals(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string constant, f-string parts included, that names a kind."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return sorted((node.lineno, node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and node.value in KIND_NAMES)


def offenders() -> list[str]:
    found = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name.startswith(ALLOWED):
            continue
        found += [f"{name}:{line}: {text!r}" for line, text in kind_literals(path)
                  if (name, text) not in NOT_A_KIND]
    return found


def test_the_scan_sees_kind_names_in_code_and_f_strings(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('if kind == "wavenet":\n    x = f"{y}charlm{z}"\nlabel = "wave"\n')
    assert kind_literals(probe) == [(1, "wavenet"), (2, "charlm")]


def test_no_kind_name_is_a_literal_outside_the_registry_configs_and_nets():
    """What a kind can do is the registry's word: the UI, the CLI and the samplers ask it."""
    assert offenders() == []


def test_the_allow_list_names_only_literals_that_are_there():
    # A stale exception would quietly allow a kind test back in.
    for name, text in NOT_A_KIND:
        assert text in {t for _, t in kind_literals(ROOT / name)}, (name, text)


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_function_a_row_names_imports(kind):
    spec = KINDS[kind]
    paths = [spec.net_path, spec.fresh_config, spec.parameter_count]
    if spec.modality == "image":
        assert spec.sampler and spec.preview, "an image kind needs a sampler and a preview"
        paths += [spec.sampler, spec.preview]
    for path in paths:
        assert callable(load_function(path)), path
    assert set(spec.orders) <= set(ORDERS)
    assert set(spec.inpaint_methods) <= set(INPAINT_METHODS)
    assert spec.config_class.kind == kind
    assert spec.can_inpaint() or spec.why_no_inpaint or spec.modality != "image"


@pytest.mark.parametrize("method", list(INPAINT_METHODS))
def test_every_inpainting_method_imports_and_some_kind_runs_it(method):
    from app.core.registry import kinds_with_method

    assert callable(load_function(INPAINT_METHODS[method].sampler))
    assert kinds_with_method(method)


@pytest.mark.parametrize("kind", list(KINDS))
def test_fresh_configs_and_counts_go_through_the_row(kind):
    from app.core.training.sizes import SIZES, count_parameters, fresh_config
    from tests.conftest import tiny_codec, tiny_config

    spec = KINDS[kind]
    codec = tiny_codec(kind, tiny_config(kind))
    if spec.modality == "image":          # fresh image models fit sides that slice by 4
        codec = type(codec)(8, 8, 1, codec.levels, codec.class_names)
    for pick, size in enumerate(SIZES):
        config = fresh_config(kind, size, codec)
        assert config == load_function(spec.fresh_config)(pick, codec)
        assert type(config) is spec.config_class
        assert count_parameters(config) == load_function(spec.parameter_count)(config)


def test_fixed_order_is_the_rows():
    from app.core.sampling.orders import fixed_order

    for kind, spec in KINDS.items():
        if spec.orders:
            assert fixed_order(kind) == spec.fixed_order
    assert fixed_order(None) == ORDERS[0]       # no model: the order menus' default


def _direct_samplers():
    """Per image kind, what sample_images called before the registry, with its arguments."""
    from app.core.sampling.anyorder import sample_anyorder
    from app.core.sampling.image import sample_raster
    from app.core.sampling.subscale import sample_subscale

    def raster(net, codec, n, labels, temperature, seed, order, naive):
        return sample_raster(net, codec, n, labels, temperature, seed, naive=naive)

    def anyorder(net, codec, n, labels, temperature, seed, order, naive):
        return sample_anyorder(net, codec, n, labels, temperature, seed, order)

    def subscale(net, codec, n, labels, temperature, seed, order, naive):
        return sample_subscale(net, codec, n, labels, temperature, seed)

    return {"pixelcnn": raster, "pixelrnn": raster, "anyorder": anyorder, "subscale": subscale}


def _same_events(a, b) -> int:
    a, b = list(a), list(b)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert type(x) is type(y)
        for f in dataclasses.fields(x):
            assert np.array_equal(getattr(x, f.name), getattr(y, f.name)), f.name
    return len(a)


@pytest.mark.parametrize("kind", [k for k, s in KINDS.items() if s.modality == "image"])
def test_sample_images_through_the_registry_draws_what_the_direct_call_draws(kind):
    from app.core.sampling.image import sample_images

    direct = _direct_samplers().get(kind)
    if direct is None:
        pytest.skip("a kind added after the registry: no older direct call to compare")
    net, codec = make_bundle(kind)
    spec = KINDS[kind]
    # "raster" stands for a fixed-order model's own order.
    for order in dict.fromkeys(spec.orders + (("raster",) if spec.fixed_order else ())):
        for naive in (False, True):
            args = (3, [0, None, 2], 0.8, 7)            # n, labels, temperature, seed
            assert _same_events(sample_images(net, codec, *args, order=order, naive=naive),
                                direct(net, codec, *args, order, naive)) > 1
    if spec.fixed_order:
        wrong = next(o for o in ORDERS if o not in (spec.fixed_order, "raster"))
        with pytest.raises(ValueError, match="order only"):
            next(sample_images(net, codec, 1, order=wrong))


@pytest.mark.parametrize("kind", [k for k, s in KINDS.items() if s.modality == "image"])
def test_training_previews_use_the_rows_quick_sampler(kind):
    from app.core.training.previews import make_preview

    net, codec = make_bundle(kind)
    labels = [i % net.config.num_classes for i in range(4)]
    expected = load_function(KINDS[kind].preview)(net, codec, 4, labels, seed=3)
    preview = make_preview(net, codec, "image", step=1, seed=3)
    assert np.array_equal(preview.images, expected.pixels)


def test_cli_help_lists_every_kind_and_preset():
    from app.cli import build_parser
    from app.core.training.presets import PRESETS

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    train = {a.dest: a.help for a in sub.choices["train"]._actions}
    assert all(kind in train["kind"] for kind in KINDS)
    assert all(name in train["preset"] for name in PRESETS)
    importing = {a.dest: a.help for a in sub.choices["import"]._actions}
    assert all(kind in importing["kind"] for kind in KINDS)
