"""`chainrule import`: foreign state dicts become checked chainrule checkpoints; hostile ones
are refused by torch.load(weights_only=True) before anything in them can run."""
import json
import os
import pickle
import zipfile

import pytest
import torch
from safetensors.torch import save_file

from app.cli import main
from app.core.checkpoint import CheckpointError, load_bundle, read_metadata
from app.core.importing import import_state_dict, read_state_dict
from app.core.paths import user_models_dir
from tests.conftest import make_bundle
from tests.hostile_files import RunsCommand, WritesFile, markers, tiny_model


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def like(tmp_path):
    """A chainrule model whose kind, config and codec the imports borrow."""
    return tiny_model(tmp_path, "like.safetensors")


def source_net():
    net, _ = make_bundle("pixelcnn", seed=7)
    return net


def same_logits(a, b) -> bool:
    x = torch.randint(0, 16, (2, 1, 6, 5))
    with torch.no_grad():
        return torch.equal(a(x), b(x))


@pytest.mark.parametrize("wrap,legacy", [(None, False), ("state_dict", False), ("model", True),
                                         ("module.", False)])
def test_state_dicts_import_and_give_the_same_logits(tmp_path, like, capsys, wrap, legacy):
    net = source_net()
    state = net.state_dict()
    if wrap == "module.":             # what nn.DataParallel saves
        obj = {f"module.{k}": v for k, v in state.items()}
    else:
        obj = {wrap: state, "epoch": 12, "lr": 0.001} if wrap else state
    src = tmp_path / "trained.pt"
    torch.save(obj, src, _use_new_zipfile_serialization=not legacy)
    code, out, err = run(capsys, "import", src, "--like", like)
    assert code == 0 and err == "" and "imported from trained.pt" in out
    out_path = user_models_dir() / "trained.safetensors"
    assert same_logits(load_bundle(out_path).net, net)
    record = read_metadata(out_path)["provenance"]["imported_from"]
    assert record["file"] == str(src.resolve()) and len(record["sha256"]) == 64
    assert record["format"] == ("legacy PyTorch pickle" if legacy else "PyTorch zip archive")


def test_kind_and_config_instead_of_like_and_a_plain_safetensors_source(tmp_path, capsys):
    net = source_net()
    src = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(src))
    config = tmp_path / "config.json"
    config.write_text(json.dumps(net.config.to_dict()))
    out = tmp_path / "mine.safetensors"
    code, _, err = run(capsys, "import", src, "--kind", "pixelcnn", "--config", config,
                       "--out", out, "--name", "mine")
    assert code == 0, err
    bundle = load_bundle(out)
    assert bundle.name == "mine" and bundle.codec.height == 6 and same_logits(bundle.net, net)
    # A text model's vocabulary cannot be guessed from its weights.
    code, _, err = run(capsys, "import", src, "--kind", "charlm-gpt", "--out", out, "--force")
    assert code == 2 and "needs --codec" in err and err.count("\n") == 1


def _exploits(folder):
    """Foreign files whose unpickling would create a file or run a command."""
    open_marker, system_marker = markers(folder)
    files = {}
    for name, payload in (("zip-open.pt", WritesFile(open_marker)),
                          ("zip-system.pth", RunsCommand(system_marker))):
        torch.save({"weight": torch.zeros(2), "x": payload}, folder / name)
        files[name] = folder / name
    torch.save({"x": RunsCommand(system_marker)}, folder / "legacy.ckpt",
               _use_new_zipfile_serialization=False)
    files["legacy.ckpt"] = folder / "legacy.ckpt"
    for protocol in (2, 5):
        path = folder / f"plain-pickle-{protocol}.pt"
        path.write_bytes(pickle.dumps({"w": RunsCommand(system_marker)}, protocol=protocol))
        files[path.name] = path
    return files


def test_exploits_are_refused_by_the_restricted_unpickler_and_never_run(tmp_path, like,
                                                                         capsys):
    for name, path in _exploits(tmp_path).items():
        with pytest.raises(CheckpointError) as info:
            read_state_dict(path)
        assert "refused by torch.load(weights_only=True)" in str(info.value)
        code, out, err = run(capsys, "import", path, "--like", like, "--out",
                             tmp_path / f"{name}.safetensors")
        assert code == 2 and out == "" and err.count("\n") == 1 and str(path) in err
        assert not any(m.exists() for m in markers(tmp_path)), name
        assert not (tmp_path / f"{name}.safetensors").exists()
    # The refusal names what the pickle asked for.
    for name, wanted in (("zip-system.pth", "posix.system"), ("zip-open.pt", "io.open")):
        with pytest.raises(CheckpointError) as info:
            read_state_dict(tmp_path / name)
        assert wanted in str(info.value) and "add_safe_globals" not in str(info.value)


def _save(folder, name, obj):
    torch.save(obj, folder / name)
    return folder / name


def _zip(folder, entry="photos/cat.jpg", content=b"\xff\xd8"):
    with zipfile.ZipFile(folder / "archive.pt", "w") as archive:
        archive.writestr(entry, content)
    return folder / "archive.pt"


def _nan_state():
    state = source_net().state_dict()
    state["out2.weight"][0, 0, 0, 0] = float("nan")
    return state


def _write(folder, name, content):
    (folder / name).write_bytes(content)
    return folder / name


# name -> (build(folder) -> path, words the refusal must contain)
IMPORT_CASES = {
    "zip-that-is-not-pytorch": (_zip, "not a PyTorch one (no */data.pkl entry)"),
    "neither-zip-nor-pickle": (lambda f: _write(f, "noise.pt", os.urandom(64) + b"x" * 64),
                               "neither a PyTorch file"),
    "empty": (lambda f: _write(f, "empty.pt", b""), "empty (0 bytes)"),
    "directory": (lambda f: (f / "folder.pt").mkdir() or f / "folder.pt", "is a directory"),
    "damaged-pytorch-zip": (lambda f: _write(f, "cut.pt", _save(f, "whole.pt", source_net()
                                             .state_dict()).read_bytes()[:3000]),
                            "a damaged or truncated zip archive"),
    "pytorch-zip-with-a-bad-pickle": (lambda f: _zip(f, "archive/data.pkl", b"\x80\x02}q"),
                                      "not a readable PyTorch file"),
    "not-a-dict": (lambda f: _save(f, "list.pt", [torch.zeros(2)]), "holds a list"),
    "non-tensor-entries": (lambda f: _save(f, "extra.pt", {"epoch": 3, "w": torch.zeros(1)}),
                           "entry 'epoch' is of type int, not a tensor"),
    "nan-weights": (lambda f: _save(f, "nan.pt", _nan_state()), "NaN"),
    "integer-weights": (lambda f: _save(f, "int.pt", {k: v.int() for k, v in source_net()
                                                      .state_dict().items()}), "expected floats"),
    "shapes-not-matching": (lambda f: _save(f, "wide.pt", make_bundle("pixelcnn", hidden=16)[0]
                                            .state_dict()), "do not match the config"),
    "another-architecture": (lambda f: _save(f, "gpt.pt", make_bundle("charlm-gpt")[0]
                                             .state_dict()), "weights do not match the config"),
}


@pytest.mark.parametrize("case", IMPORT_CASES)
def test_bad_sources_exit_2_with_one_line(tmp_path, like, capsys, case):
    build, words = IMPORT_CASES[case]
    path = build(tmp_path)
    out = tmp_path / "out.safetensors"
    code, stdout, err = run(capsys, "import", path, "--like", like, "--out", out)
    assert code == 2 and stdout == "" and err.count("\n") == 1
    assert err.startswith(f"chainrule: error: {path}: ") and words in err
    assert not out.exists()


@pytest.mark.parametrize("argv,words", [
    (["--config", '{"colour": "blue"}'], "unknown key(s) in pixelcnn config: colour"),
    (["--config", '{"hidden": 16}'], "do not match the config"),
    (["--config", '{"layers": 1000000}'], "it has 1000000 layers, the file 37 non-empty tensors"),
    (["--codec", '{"modality": "image", "height": 7, "width": 5, "levels": 16}'],
     "codec and config disagree: height 7 vs 6"),
    (["--config", "missing.json"], "neither a JSON object nor a file"),
    (["--config", "{not json"], "not valid JSON"),
    (["--kind", "wavenet"], "--kind wavenet contradicts --like"),
    (["--kind", "pixelcnn2"], None), # no --like for this one: see below
])
def test_bad_settings_exit_2_with_one_line(tmp_path, like, capsys, argv, words):
    src = _save(tmp_path, "trained.pt", source_net().state_dict())
    out = tmp_path / "out.safetensors"
    base = ["import", src, "--out", out] + ([] if words is None else ["--like", like])
    code, stdout, err = run(capsys, *base, *argv)
    assert code == 2 and stdout == "" and err.count("\n") == 1
    assert (words or "unknown model kind 'pixelcnn2'") in err
    assert not out.exists()


def test_output_rules(tmp_path, like, capsys):
    src = _save(tmp_path, "trained.pt", source_net().state_dict())
    code, _, err = run(capsys, "import", src, "--like", like, "--out", tmp_path / "x.pt")
    assert code == 2 and "must be a .safetensors file" in err
    out = tmp_path / "x.safetensors"
    assert run(capsys, "import", src, "--like", like, "--out", out)[0] == 0
    code, _, err = run(capsys, "import", src, "--like", like, "--out", out)
    assert code == 2 and "already exists" in err
    assert run(capsys, "import", src, "--like", like, "--out", out, "--force")[0] == 0
    code, _, err = run(capsys, "import", src, "--out", out)
    assert code == 2 and "--like MODEL, or --kind KIND" in err


def test_core_function_records_provenance(tmp_path, like):
    src = _save(tmp_path, "trained.pt", {"model": source_net().state_dict()})
    meta = read_metadata(like)
    out = import_state_dict(src, tmp_path / "o.safetensors", meta["kind"], meta["config"],
                            meta["codec"], provenance={"license": "MIT"})
    prov = read_metadata(out)["provenance"]
    assert prov["description"] == "imported from trained.pt" and prov["license"] == "MIT"
    assert prov["imported_from"]["wrapper"] == "model"
