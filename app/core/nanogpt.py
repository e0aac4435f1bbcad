"""nanoGPT's checkpoints (ckpt.pt from its train.py, meta.pkl from its char-level data
preparation) as chainrule Transformer language models.

nanoGPT's GPT and chainrule's CharGPT are the same architecture (pre-norm blocks, exact
GELU, fused q|k|v, learned positions); they differ in names, in nanoGPT's optional biases
(`bias=False` in its configs) and in its output head, which reuses the token embedding and
has no bias. Those two options exist in GPTConfig (bias, tied), so a nanoGPT checkpoint
becomes a CharGPT by renaming alone.
"""
from __future__ import annotations

import re
from pathlib import Path

from .checkpoint import CheckpointError
from .plain_pickle import PlainPickleError, load_plain

COMPILE_PREFIX = "_orig_mod."          # what torch.compile leaves on every name
GPT2_VOCAB = 50257                     # GPT-2's BPE tokens (nanoGPT pads them to 50304)
# nanoGPT name -> chainrule name, applied to "transformer.h.N." block names after the prefix
_BLOCK_NAMES = {"ln_1": "ln1", "ln_2": "ln2", "attn.c_attn": "qkv", "attn.c_proj": "proj",
                "mlp.c_fc": "mlp.0", "mlp.c_proj": "mlp.2"}
_TOP_NAMES = {"transformer.wte.weight": "embed.weight", "transformer.wpe.weight":
              "position.weight", "transformer.ln_f.weight": "ln.weight",
              "transformer.ln_f.bias": "ln.bias"}
_MODEL_ARGS = ("n_layer", "n_head", "n_embd", "block_size", "vocab_size")


def is_nanogpt(obj) -> bool:
    """Whether a torch.load result is a nanoGPT training checkpoint."""
    return isinstance(obj, dict) and isinstance(obj.get("model_args"), dict) \
        and isinstance(obj.get("model"), dict)


def config_of(path: Path, model_args: dict) -> dict:
    """GPTConfig fields from nanoGPT's model_args."""
    for key in _MODEL_ARGS:
        value = model_args.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CheckpointError(path, f"nanoGPT model_args['{key}'] must be a positive "
                                        f"integer, got {value!r}")
    bias = model_args.get("bias", True)
    if not isinstance(bias, bool):
        raise CheckpointError(path, f"nanoGPT model_args['bias'] must be true or false, got "
                                    f"{bias!r}")
    dropout = model_args.get("dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
            or not 0 <= dropout < 1:
        dropout = 0.0
    return {"vocab_size": model_args["vocab_size"], "context": model_args["block_size"],
            "embed": model_args["n_embd"], "heads": model_args["n_head"],
            "layers": model_args["n_layer"], "dropout": float(dropout), "bias": bias,
            "tied": True}


def rename(state: dict, config: dict) -> tuple[dict, dict]:
    """nanoGPT's state dict -> (CharGPT's, the config with `tied` as the weights say).

    The attention's causal mask buffer (`attn.bias`, in versions without flash attention)
    is not a weight and is dropped. An lm_head equal to the embedding (nanoGPT ties them)
    is stored once; a different one makes an untied head. nanoGPT's head has no bias: with
    bias=True it gets zeros, the same logits."""
    import torch

    if state and all(name.startswith(COMPILE_PREFIX) for name in state):
        state = {name[len(COMPILE_PREFIX):]: t for name, t in state.items()}
    out = {}
    for name, tensor in state.items():
        block = re.fullmatch(r"transformer\.h\.(\d+)\.(.+)\.(weight|bias)", name)
        if block and block.group(2) == "attn":        # the mask buffer "attn.bias"
            continue
        if block and block.group(2) in _BLOCK_NAMES:
            out[f"blocks.{block.group(1)}.{_BLOCK_NAMES[block.group(2)]}.{block.group(3)}"] \
                = tensor
        elif name in _TOP_NAMES:
            out[_TOP_NAMES[name]] = tensor
        elif name == "lm_head.weight":
            out["head.weight"] = tensor
        else:
            out[name] = tensor                         # reported as unexpected by the check
    config = dict(config)
    head, embed = out.get("head.weight"), out.get("embed.weight")
    if head is not None and embed is not None and head.shape == embed.shape \
            and torch.equal(head, embed):
        del out["head.weight"]
    elif head is not None:
        config["tied"] = False
    if config["bias"] and embed is not None:
        out["head.bias"] = torch.zeros(config["vocab_size"], dtype=embed.dtype)
    return out, config


def vocab_of(path: Path, ckpt: dict, vocab_file: str | None, vocab_size: int) -> tuple[str, str]:
    """(the characters, index = token id, and where they came from) for a nanoGPT model."""
    candidates = [Path(vocab_file)] if vocab_file else _meta_candidates(path, ckpt)
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        if vocab_size >= GPT2_VOCAB:
            raise CheckpointError(path, f"a nanoGPT model with {vocab_size:,} tokens, GPT-2's "
                                        "BPE vocabulary (no meta.pkl beside it): chainrule's "
                                        "language models read and write characters, so it "
                                        "cannot be imported")
        looked = ", ".join(str(p) for p in candidates)
        raise CheckpointError(path, "a nanoGPT character model needs its vocabulary: no "
                                    f"meta.pkl found (looked for {looked}); give it with "
                                    "--vocab FILE (meta.pkl, or a JSON list of characters)")
    itos = _read_vocab(found)
    if len(itos) > vocab_size:
        raise CheckpointError(path, f"{found} lists {len(itos)} characters, more than the "
                                    f"model's {vocab_size} tokens")
    if len(itos) < vocab_size:
        if vocab_size >= GPT2_VOCAB:
            raise CheckpointError(path, f"{found} lists {len(itos)} characters but the model "
                                        f"has {vocab_size:,} tokens (GPT-2's BPE vocabulary)")
        # Padded vocabularies (rounded up for speed) never draw the extra tokens in
        # training; they stand for characters no text holds (Unicode private use).
        itos += [chr(0xE000 + i) for i in range(vocab_size - len(itos))]
    return "".join(itos), str(found.resolve())


def _meta_candidates(path: Path, ckpt: dict) -> list[Path]:
    """meta.pkl beside the checkpoint, then where nanoGPT's prepare.py writes it
    (data/<dataset>/meta.pkl, relative to the run's folder or the one above it)."""
    places = [path.parent / "meta.pkl"]
    config = ckpt.get("config")
    dataset = config.get("dataset") if isinstance(config, dict) else None
    if isinstance(dataset, str) and re.fullmatch(r"[\w.-]+", dataset) and dataset not in (".",
                                                                                          ".."):
        places += [path.parent / "data" / dataset / "meta.pkl",
                   path.parent.parent / "data" / dataset / "meta.pkl"]
    return places


def _read_vocab(path: Path) -> list[str]:
    """The characters of a meta.pkl ({'itos': {id: char}, ...}) or a JSON list of them."""
    import json

    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
            raise CheckpointError(path, f"not a readable JSON vocabulary: {err}") from None
        if isinstance(data, dict) and "itos" in data:
            data = {int(k) if isinstance(k, str) and k.isdigit() else k: v
                    for k, v in data["itos"].items()} if isinstance(data["itos"], dict) \
                else data["itos"]
    else:
        try:
            meta = load_plain(path)
        except PlainPickleError as err:
            raise CheckpointError(path, f"not a usable meta.pkl: {err}") from None
        data = meta.get("itos") if isinstance(meta, dict) else None
        if data is None:
            raise CheckpointError(path, "a meta.pkl without 'itos' (the id -> character table "
                                        "nanoGPT's char-level prepare.py writes)")
    if isinstance(data, dict):
        if sorted(k for k in data if isinstance(k, int) and not isinstance(k, bool)) \
                != list(range(len(data))):
            raise CheckpointError(path, "the vocabulary's ids must be 0, 1, 2, ... without gaps")
        data = [data[i] for i in range(len(data))]
    if not isinstance(data, list) or not data:
        raise CheckpointError(path, "the vocabulary must be a non-empty list of characters or "
                                    "a table of id -> character")
    for i, ch in enumerate(data):
        if not isinstance(ch, str) or len(ch) != 1:
            shown = repr(ch)[:40]
            raise CheckpointError(path, f"vocabulary entry {i} is {shown}, not one character"
                                        + (" (a BPE or word vocabulary: chainrule's language "
                                           "models work on characters)"
                                           if isinstance(ch, str) else ""))
    if len(set(data)) != len(data):
        raise CheckpointError(path, "the vocabulary lists a character twice")
    return list(data)


def example_checkpoint(path: Path, config, bias: bool = False, seed: int = 0) -> Path:
    """Write a ckpt.pt in nanoGPT's layout with random weights, the size of `config` (a
    GPTConfig): what `chainrule bench` imports to time an imported model beside a bundled
    one. Speed does not depend on the weights; the layout is nanoGPT's train.py's."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    e, v = config.embed, config.vocab_size
    state = {"transformer.wte.weight": torch.randn(v, e, generator=gen) * 0.02,
             "transformer.wpe.weight": torch.randn(config.context, e, generator=gen) * 0.02}
    shapes = {"ln_1": (e,), "attn.c_attn": (3 * e, e), "attn.c_proj": (e, e), "ln_2": (e,),
              "mlp.c_fc": (4 * e, e), "mlp.c_proj": (e, 4 * e)}
    for i in range(config.layers):
        for name, shape in shapes.items():
            key = f"transformer.h.{i}.{name}"
            state[f"{key}.weight"] = torch.ones(shape) if name.startswith("ln") \
                else torch.randn(*shape, generator=gen) * 0.02
            if bias:
                state[f"{key}.bias"] = torch.zeros(shape[0])
    state["transformer.ln_f.weight"] = torch.ones(e)
    if bias:
        state["transformer.ln_f.bias"] = torch.zeros(e)
    state["lm_head.weight"] = state["transformer.wte.weight"]
    model_args = {"n_layer": config.layers, "n_head": config.heads, "n_embd": e,
                  "block_size": config.context, "bias": bias, "vocab_size": v, "dropout": 0.0}
    torch.save({"model": state, "model_args": model_args, "optimizer": {}, "iter_num": 0,
                "best_val_loss": torch.tensor(0.0), "config": {"dataset": "example"}}, path)
    return path
