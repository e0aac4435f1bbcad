"""nanoGPT checkpoints (ckpt.pt + meta.pkl, in nanoGPT's exact layout) open as chainrule
Transformers: the imported model's logits equal a reference forward pass written here from
the published architecture, for the full pass and step by step with the KV cache."""
import json
import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from app.cli import main
from app.core.checkpoint import load_bundle, read_metadata
from app.core.plain_pickle import PlainPickleError, loads_plain
from tests.hostile_files import RunsCommand, WritesFile, markers

CHARS = "\n abcdefghijklmnopqrstuvwxyz.,!?"
V = len(CHARS)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def nanogpt_state(layers=2, heads=2, embed=16, context=32, vocab=V, bias=True,
                  seed=0) -> dict:
    """A random state dict with nanoGPT's names and shapes (lm_head tied to wte)."""
    gen = torch.Generator().manual_seed(seed)
    r = lambda *shape: torch.randn(*shape, generator=gen) * 0.2
    state = {"transformer.wte.weight": r(vocab, embed), "transformer.wpe.weight": r(context, embed)}
    for i in range(layers):
        p = f"transformer.h.{i}."
        shapes = {"ln_1": (embed,), "attn.c_attn": (3 * embed, embed),
                  "attn.c_proj": (embed, embed), "ln_2": (embed,),
                  "mlp.c_fc": (4 * embed, embed), "mlp.c_proj": (embed, 4 * embed)}
        for name, shape in shapes.items():
            state[p + name + ".weight"] = 1 + r(*shape) if name.startswith("ln") else r(*shape)
            if bias:
                state[p + name + ".bias"] = r(shape[0])
    state["transformer.ln_f.weight"] = 1 + r(embed)
    if bias:
        state["transformer.ln_f.bias"] = r(embed)
    state["lm_head.weight"] = state["transformer.wte.weight"]      # nanoGPT ties them
    return state


def reference_logits(state: dict, ids: torch.Tensor, heads: int) -> torch.Tensor:
    """nanoGPT's forward pass, from the GPT-2 architecture as nanoGPT publishes it: pre-norm
    blocks (LayerNorm eps 1e-5), causal self-attention with q, k, v from one projection,
    exact GELU, final LayerNorm, logits from the token embedding (no head bias)."""
    g = lambda name: state.get(name)
    b, t = ids.shape
    x = g("transformer.wte.weight")[ids] + g("transformer.wpe.weight")[:t]
    n = 0
    while f"transformer.h.{n}.ln_1.weight" in state:
        n += 1
    for i in range(n):
        p = f"transformer.h.{i}."
        e = x.shape[-1]
        h = F.layer_norm(x, (e,), g(p + "ln_1.weight"), g(p + "ln_1.bias"), 1e-5)
        q, k, v = F.linear(h, g(p + "attn.c_attn.weight"), g(p + "attn.c_attn.bias")).split(e, 2)
        q, k, v = (z.view(b, t, heads, e // heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(e // heads)
        att = att.masked_fill(torch.ones(t, t).tril() == 0, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, e)
        x = x + F.linear(y, g(p + "attn.c_proj.weight"), g(p + "attn.c_proj.bias"))
        h = F.layer_norm(x, (e,), g(p + "ln_2.weight"), g(p + "ln_2.bias"), 1e-5)
        h = F.gelu(F.linear(h, g(p + "mlp.c_fc.weight"), g(p + "mlp.c_fc.bias")))
        x = x + F.linear(h, g(p + "mlp.c_proj.weight"), g(p + "mlp.c_proj.bias"))
    x = F.layer_norm(x, (x.shape[-1],), g("transformer.ln_f.weight"),
                     g("transformer.ln_f.bias"), 1e-5)
    return x @ g("lm_head.weight").T


def write_run(folder, state, *, layers=2, heads=2, embed=16, context=32, vocab=V,
              bias=True, prefix="", meta=True, attn_mask=False):
    """An out-<dataset>/ckpt.pt as nanoGPT's train.py saves it, meta.pkl beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    model = {prefix + k: v for k, v in state.items()}
    if attn_mask:                # older nanoGPT (no flash attention) saves its causal mask
        for i in range(layers):
            model[f"{prefix}transformer.h.{i}.attn.bias"] = \
                torch.ones(context, context).tril().view(1, 1, context, context)
    ckpt = {"model": model, "optimizer": {},
            "model_args": {"n_layer": layers, "n_head": heads, "n_embd": embed,
                           "block_size": context, "bias": bias, "vocab_size": vocab,
                           "dropout": 0.0},
            "iter_num": 250, "best_val_loss": torch.tensor(1.25),
            "config": {"dataset": "tiny_char", "batch_size": 12}}
    torch.save(ckpt, folder / "ckpt.pt")
    if meta:
        with open(folder / "meta.pkl", "wb") as f:
            pickle.dump({"vocab_size": vocab, "itos": dict(enumerate(CHARS)),
                         "stoi": {c: i for i, c in enumerate(CHARS)}}, f)
    return folder / "ckpt.pt"


@pytest.mark.parametrize("bias,prefix,attn_mask", [(True, "", False), (False, "", True),
                                                   (False, "_orig_mod.", False),
                                                   (True, "_orig_mod.", True)])
def test_imported_nanogpt_matches_the_reference_forward_and_its_kv_cache(
        tmp_path, capsys, bias, prefix, attn_mask):
    state = nanogpt_state(bias=bias)
    ckpt = write_run(tmp_path / "out-tiny", state, bias=bias, prefix=prefix,
                     attn_mask=attn_mask)
    out = tmp_path / "tiny.safetensors"
    code, stdout, err = run(capsys, "import", ckpt, "--out", out)
    assert code == 0, err
    assert "charlm-gpt" in stdout
    bundle = load_bundle(out)
    assert bundle.codec.vocab == CHARS and bundle.net.config.tied
    assert bundle.net.config.bias is bias and bundle.net.config.context == 32
    ids = torch.randint(0, len(CHARS), (2, 32), generator=torch.Generator().manual_seed(1))
    expected = reference_logits(state, ids, heads=2)
    with torch.no_grad():
        assert (bundle.net(ids) - expected).abs().max() < 1e-5
        # Step by step: the KV cache (PyTorch step), the fused and the compiled steps.
        from app.core.fast.gpt_fused import FusedGPT
        from app.core.fast.gpt_numba import CompiledGPT

        for stepper in (None, FusedGPT(bundle.net, 2, "cpu"), CompiledGPT(bundle.net, 2)):
            cache = bundle.net.begin(2)
            for t in range(20):
                got = bundle.net.step(cache, ids[:, t]) if stepper is None \
                    else stepper.step(ids[:, t])
                assert (got - expected[:, t]).abs().max() < 1e-5, (type(stepper), t)


def test_an_import_records_where_it_came_from_and_samples_scores_and_fine_tunes(
        tmp_path, capsys):
    ckpt = write_run(tmp_path / "out-tiny", nanogpt_state(bias=False), bias=False)
    code, stdout, _ = run(capsys, "import", ckpt)      # default: the models folder
    assert code == 0 and "tiny.safetensors" in stdout
    code, info, _ = run(capsys, "info", "tiny")
    assert code == 0 and "nanoGPT" in info and "ckpt.pt" in info and "meta.pkl" in info
    meta = read_metadata(load_bundle_path := next(iter(
        p for p in (tmp_path / "chainrule-home").rglob("tiny.safetensors"))))
    record = meta["provenance"]["imported_from"]
    assert record["layout"] == "nanoGPT" and record["iter_num"] == 250
    code, text, _ = run(capsys, "sample", "text", "--model", load_bundle_path, "--length",
                        "40", "--seed", "1", "--prompt", "ab")
    assert code == 0 and text.startswith("ab") and set(text) <= set(CHARS)
    data = tmp_path / "data"
    data.mkdir()
    (data / "t.txt").write_text("hello world, this is a tiny text. " * 30)
    code, out, err = run(capsys, "eval", "--model", load_bundle_path, "--data", data)
    assert code == 0 and "bits/char" in out, err
    tuned = tmp_path / "tuned.safetensors"
    code, _, err = run(capsys, "train", "--data", data, "--kind", "charlm-gpt", "--from",
                       load_bundle_path, "--steps", "3", "--out", tuned)
    assert code == 0, err
    assert load_bundle(tuned).net.config.tied


def test_meta_pkl_that_would_run_code_is_refused_and_nothing_runs(tmp_path, capsys):
    ckpt = write_run(tmp_path / "out-tiny", nanogpt_state(), meta=False)
    for exploit in (RunsCommand(tmp_path / "pwned-system"), WritesFile(tmp_path / "pwned-open")):
        with open(tmp_path / "out-tiny" / "meta.pkl", "wb") as f:
            pickle.dump({"vocab_size": 3, "itos": {0: exploit}}, f)
        code, _, err = run(capsys, "import", ckpt, "--out", tmp_path / "x.safetensors")
        assert code == 2 and "refused without running it" in err
        assert len(err.strip().splitlines()) == 1
    assert not any(m.exists() for m in markers(tmp_path))


def test_plain_pickle_reader_builds_plain_data_only():
    value = {"a": [1, 2.5, "x", None, True, (3, 4)], 7: {"nested": []}, "big": 2 ** 40}
    for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):
        assert loads_plain(pickle.dumps(value, protocol=protocol)) == value
    shared = [1, 2]
    assert loads_plain(pickle.dumps({"p": shared, "q": shared})) == {"p": [1, 2], "q": [1, 2]}
    for bad, why in ((pickle.dumps({1, 2}), "EMPTY_SET"), (pickle.dumps(b"raw"), "BYTES"),
                     (pickle.dumps(np.float32(1)), "GLOBAL"), (b"\x80\x04K\x01", "STOP"),
                     (b"not a pickle", "readable"), (pickle.dumps(2 ** 70), "64 bits")):
        with pytest.raises(PlainPickleError, match=why):
            loads_plain(bad)


def test_gpt2_bpe_checkpoint_without_meta_is_refused_with_the_reason(tmp_path, capsys):
    state = nanogpt_state(layers=1, heads=1, embed=4, context=8, vocab=50304)
    ckpt = write_run(tmp_path / "out-owt", state, layers=1, heads=1, embed=4, context=8,
                     vocab=50304, meta=False)
    code, _, err = run(capsys, "import", ckpt, "--out", tmp_path / "x.safetensors")
    assert code == 2 and "GPT-2's BPE" in err and "characters" in err
    assert not (tmp_path / "x.safetensors").exists()


def test_missing_meta_names_where_it_looked_and_vocab_option_supplies_it(tmp_path, capsys):
    state = nanogpt_state()
    ckpt = write_run(tmp_path / "out-tiny", state, meta=False)
    code, _, err = run(capsys, "import", ckpt, "--out", tmp_path / "x.safetensors")
    assert code == 2 and "--vocab" in err and "meta.pkl" in err
    vocab = tmp_path / "chars.json"
    vocab.write_text(json.dumps(list(CHARS)))
    code, _, err = run(capsys, "import", ckpt, "--vocab", vocab, "--out",
                       tmp_path / "x.safetensors")
    assert code == 0, err
    assert load_bundle(tmp_path / "x.safetensors").codec.vocab == CHARS


def test_other_layouts_get_both_name_lists_and_a_map_fixes_them(tmp_path, capsys, save_tiny):
    like = save_tiny("charlm-gpt")
    net = load_bundle(like).net
    foreign = {"model." + k.replace("blocks", "layers"): v for k, v in net.state_dict().items()}
    src = tmp_path / "foreign.pt"
    torch.save(foreign, src)
    out = tmp_path / "x.safetensors"
    code, _, err = run(capsys, "import", src, "--like", like, "--out", out)
    assert code == 2 and "missing (" in err and "unexpected (" in err and "--map" in err
    assert "model.embed.weight" in err or "more" in err
    rules = tmp_path / "map.json"
    rules.write_text(json.dumps({"^model\\.": "", "^layers\\.": "blocks."}))
    code, _, err = run(capsys, "import", src, "--like", like, "--map", rules, "--out", out)
    assert code == 0, err
    ids = torch.randint(0, net.config.vocab_size, (1, 8))
    with torch.no_grad():
        assert torch.equal(load_bundle(out).net(ids), net(ids))


def test_eval_names_characters_outside_the_vocabulary_and_can_skip_them(tmp_path, capsys,
                                                                          save_tiny):
    model = save_tiny("charlm-gpt")
    vocab = load_bundle(model).codec.vocab
    data = tmp_path / "data"
    data.mkdir()
    inside = "".join(vocab[i % len(vocab)] for i in range(900))
    (data / "t.txt").write_text(inside + "(|)" * 4)
    code, _, err = run(capsys, "eval", "--model", model, "--data", data)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "'(' x4" in err and "'|' x4" in err and "--skip-unknown" in err
    code, out, err = run(capsys, "eval", "--model", model, "--data", data, "--skip-unknown")
    assert code == 0 and "bits/char" in out and "12 characters" in err


def test_eval_scores_a_short_context_model_in_windows_it_can_read(tmp_path, capsys, save_tiny):
    model = save_tiny("charlm-gpt", context=8)
    vocab = load_bundle(model).codec.vocab
    data = tmp_path / "data"
    data.mkdir()
    (data / "t.txt").write_text("".join(vocab[i * 7 % len(vocab)] for i in range(2000)))
    code, out, err = run(capsys, "eval", "--model", model, "--data", data)
    assert code == 0 and "bits/char" in out, err
