"""The three tests every net gets: causality by gradient, incremental step == full forward,
and save/load round trip with identical logits."""
import numpy as np
import pytest
import torch

from app.core.checkpoint import load_bundle, save_bundle
from tests.conftest import make_bundle

PIXEL_VARIANTS = [
    dict(),                                           # grey, class-conditional
    dict(num_classes=0),                              # grey, unconditional
    dict(channels=3, hidden=12, num_classes=2),       # RGB with R -> G -> B masking
    dict(levels=2, num_classes=0),                    # binary mode
    dict(mixture=2),                                  # grey, logistic-mixture head
    dict(channels=3, hidden=12, num_classes=2, mixture=3),   # RGB, logistic mixture
    dict(channels=3, hidden=12, num_classes=2, kernel=5, mixture=3),   # wider kernels
]


def pixel_input_grads(net, x, y):
    """Gradient of every logit block w.r.t. every scaled input sub-pixel: (C,H,W, C,H,W)."""
    leaf = {}
    original = net.scale_input

    def scaled(t):
        leaf["x"] = original(t).requires_grad_(True)
        return leaf["x"]

    net.scale_input = scaled
    logits = net(x, y)                                 # (1, L, C, H, W)
    c, h, w = x.shape[1:]
    grads = torch.zeros(c, h, w, c, h, w)
    for ch in range(c):
        for r in range(h):
            for col in range(w):
                (g,) = torch.autograd.grad(logits[0, :, ch, r, col].sum(), leaf["x"],
                                           retain_graph=True)
                grads[ch, r, col] = g[0]
    return grads


@pytest.mark.parametrize("variant", PIXEL_VARIANTS)
def test_pixelcnn_causality_and_no_blind_spot(variant):
    net, _ = make_bundle("pixelcnn", **variant)
    cfg = net.config
    x = torch.randint(0, cfg.levels, (1, cfg.channels, cfg.height, cfg.width))
    grads = pixel_input_grads(net, x, None).abs()
    order = lambda ch, r, col: (r * cfg.width + col) * cfg.channels + ch
    for ch in range(cfg.channels):
        for r in range(cfg.height):
            for col in range(cfg.width):
                for ch2 in range(cfg.channels):
                    for r2 in range(cfg.height):
                        for c2 in range(cfg.width):
                            if order(ch2, r2, c2) >= order(ch, r, col):
                                assert grads[ch, r, col, ch2, r2, c2] == 0, \
                                    f"({ch},{r},{col}) sees ({ch2},{r2},{c2})"
    # The pixel to the left, and the pixels above-right (the classic blind spot) are seen.
    assert grads[0, 3, 2, 0, 3, 1] > 0
    assert grads[0, 3, 2, 0, 2, 4] > 0
    if cfg.channels == 3:
        assert grads[1, 3, 2, 0, 3, 2] > 0 and grads[2, 3, 2, 1, 3, 2] > 0


def assert_row_cache_exact(net, labels):
    """Sample with the row cache; the full forward on the result gives the same log-probs."""
    cfg = net.config
    b = 3
    gen = torch.Generator().manual_seed(0)
    x = torch.zeros(b, cfg.channels, cfg.height, cfg.width, dtype=torch.long)
    stepped = torch.zeros(b, cfg.levels, cfg.channels, cfg.height, cfg.width)
    with torch.no_grad():
        cache = net.begin(b, labels)
        for r in range(cfg.height):
            for col in range(cfg.width):
                for ch in range(cfg.channels):
                    logits = net.step_logits(cache, r, col, ch)
                    stepped[:, :, ch, r, col] = logits
                    value = torch.multinomial(logits.softmax(-1), 1, generator=gen)[:, 0]
                    x[:, ch, r, col] = value
                    net.set_value(cache, r, col, ch, value)
        full = net(x, labels)
    diff = (full.log_softmax(1) - stepped.log_softmax(1)).abs().max().item()
    assert diff < 1e-4


@pytest.mark.parametrize("variant", PIXEL_VARIANTS)
def test_pixelcnn_row_cache_matches_full_forward(variant):
    net, _ = make_bundle("pixelcnn", **variant)
    classes = net.config.num_classes
    labels = torch.tensor([0, 1, 2]) if classes == 3 else \
        (torch.tensor([0, 1, 0]) if classes else None)
    assert_row_cache_exact(net, labels)


def test_pixelcnn_position_biases_are_used_and_stay_exact():
    net, _ = make_bundle("pixelcnn")
    assert net.config.position_bias
    with torch.no_grad():
        for layer in net.layers:
            layer.rows.normal_()
            layer.cols.normal_()
    # The same blank input at two places gives two different predictions.
    logits = net(torch.zeros(1, 1, 6, 5, dtype=torch.long))
    assert not torch.allclose(logits[..., 4, 2], logits[..., 5, 2])
    assert_row_cache_exact(net, torch.tensor([2, 0, 1]))


def sequence_grads(net, x):
    """|d logits[t] / d embedding[s]| summed over features: (T, T)."""
    captured = {}
    handle = net.embed.register_forward_hook(lambda m, i, o: captured.setdefault("e", o))
    out = net(x)
    handle.remove()
    logits = out[0] if isinstance(out, tuple) else out
    if logits.shape[1] != x.shape[1]:              # WaveNet: (B, L, T) -> (B, T, L)
        logits = logits.transpose(1, 2)
    t = x.shape[1]
    grads = torch.zeros(t, t)
    for i in range(t):
        (g,) = torch.autograd.grad(logits[0, i].sum(), captured["e"], retain_graph=True)
        g = g[0].abs().sum(-1) if g.shape[1] == t else g[0].abs().sum(0)
        grads[i] = g
    return grads


@pytest.mark.parametrize("kind", ["wavenet", "charlm-lstm", "charlm-gpt"])
def test_sequence_nets_are_causal(kind):
    net, _ = make_bundle(kind)
    vocab = getattr(net.config, "levels", None) or net.config.vocab_size
    x = torch.randint(0, vocab, (1, 12))
    grads = sequence_grads(net, x)
    # Output t predicts element t + 1: it may only see inputs 0..t.
    assert torch.all(torch.triu(grads, diagonal=1) == 0)
    assert torch.all(torch.diagonal(grads) > 0)


@pytest.mark.parametrize("kind,overrides", [("wavenet", {}), ("wavenet", {"num_classes": 3}),
                                            ("charlm-lstm", {}), ("charlm-gpt", {})])
def test_sequence_step_matches_full_forward(kind, overrides):
    net, _ = make_bundle(kind, **overrides)
    vocab = getattr(net.config, "levels", None) or net.config.vocab_size
    length = 16 if kind == "charlm-gpt" else 40
    x = torch.randint(0, vocab, (3, length))
    with torch.no_grad():
        if kind == "wavenet":
            y = torch.tensor([0, 2, 1]) if overrides else None
            full = net(x, y).transpose(1, 2)
            state = net.begin(3, y)
        else:
            out = net(x)
            full = out[0] if isinstance(out, tuple) else out
            state = net.begin(3)
        stepped = torch.stack([net.step(state, x[:, t]) for t in range(length)], dim=1)
    diff = (full.log_softmax(-1) - stepped.log_softmax(-1)).abs().max().item()
    assert diff < 1e-4


def test_gpt_step_past_the_context_matches_a_full_forward_on_the_window():
    net, _ = make_bundle("charlm-gpt")            # context 16: rebuilds keep the last 8
    x = torch.randint(0, 12, (2, 40))
    with torch.no_grad():
        state = net.begin(2)
        stepped = [net.step(state, x[:, t]) for t in range(40)]
        # Replay the window rule: after each rebuild the window restarts from 8 tokens.
        start = 0
        for t in range(40):
            if t - start + 1 > 16:
                start = t - 7
            expected = net(x[:, start:t + 1])[:, -1]
            assert (expected.log_softmax(-1) - stepped[t].log_softmax(-1)).abs().max() < 1e-4


@pytest.mark.parametrize("kind", ["pixelcnn", "wavenet", "charlm-lstm", "charlm-gpt"])
@pytest.mark.parametrize("half", [False, True])
def test_save_load_round_trip_gives_identical_logits(kind, half, tmp_path):
    net, codec = make_bundle(kind)
    path = save_bundle(tmp_path / "m.safetensors", net, codec, {"note": "x"}, half=half)
    bundle = load_bundle(path)
    assert bundle.kind == kind and bundle.config == net.config and bundle.codec == codec
    assert bundle.half == half and bundle.provenance == {"note": "x"}
    if half:   # the saved model is the float16-rounded one
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(p.half().float())
    vocab = getattr(net.config, "levels", None) or net.config.vocab_size
    x = torch.randint(0, vocab, (2, 1, 6, 5) if kind == "pixelcnn" else (2, 10))
    with torch.no_grad():
        a, b = net(x), bundle.net(x)
    a, b = (a[0], b[0]) if isinstance(a, tuple) else (a, b)
    assert torch.equal(a, b)
    assert np.isfinite(a.numpy()).all()

