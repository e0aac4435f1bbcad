"""The weight average (--ema): its arithmetic, that it is what is scored and saved while
training goes on with the raw weights, and that a resumed run continues it exactly."""
import torch

from app.core.checkpoint import load_bundle
from app.core.training.datasets import SequenceData
from app.core.training.ema import WeightAverage
from app.core.training.runs import new_run_dir
from app.core.training.trainer import RunOptions, TrainSettings, evaluate, train
from tests.conftest import make_bundle


def test_the_average_follows_its_formula_and_is_applied_only_inside_the_block():
    net = torch.nn.Linear(3, 2)
    average = WeightAverage(net, decay=0.9)
    start = [p.detach().clone() for p in net.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    average.update(step=100)                     # (1 + 100) / (10 + 100) > 0.9: decay 0.9
    for s, p0 in zip(average.shadow, start):
        assert torch.allclose(s, 0.9 * p0 + 0.1 * (p0 + 1.0))
    raw = [p.detach().clone() for p in net.parameters()]
    with average.applied():
        assert all(torch.equal(p, s) for p, s in zip(net.parameters(), average.shadow))
    assert all(torch.equal(p, r) for p, r in zip(net.parameters(), raw))
    average.update(step=0)                       # early: (1 + 0) / 10 = 0.1 of the old
    assert torch.allclose(average.shadow[0], 0.1 * (0.9 * start[0] + 0.1 * raw[0]) + 0.9 * raw[0])


def _data(codec):
    return SequenceData(codec.encode("abcab cabab c!\n" * 80), window=16)


def test_the_saved_model_is_the_average_and_a_resumed_run_continues_it(tmp_path):
    settings = TrainSettings(steps=10, batch_size=4, lr=5e-3, warmup=2, eval_every=5,
                             checkpoint_every=3, ema=0.9)
    saved, raw = [], []
    for stop_after in (None, 6):
        net, codec = make_bundle("charlm-lstm")
        data = _data(codec)
        run_dir = new_run_dir("r", tmp_path)
        out = run_dir / "best.safetensors"
        loop = train(net, data, data, settings, out, codec, {}, options=RunOptions(run_dir))
        for metrics in loop:
            if metrics.step == stop_after:
                loop.close()
                break
        if stop_after:
            net, codec = make_bundle("charlm-lstm", seed=123)
            list(train(net, data, data, settings, out, codec, {},
                       options=RunOptions(run_dir, resume=True)))
        best = load_bundle(out)
        saved.append(best.net.state_dict())
        raw.append({k: v.clone() for k, v in net.state_dict().items()})
        # What was saved is not the raw weights, and its score is the one recorded.
        assert any(not torch.equal(saved[-1][k], raw[-1][k]) for k in raw[-1])
        recorded = best.provenance["heldout_bits"]
        assert abs(evaluate(best.net, data, 4, "cpu") - recorded) < 1e-3
    for a, b in ((saved[0], saved[1]), (raw[0], raw[1])):
        assert all(torch.equal(a[k], b[k]) for k in a)       # resumed == uninterrupted
