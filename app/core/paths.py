"""Where bundled models, resources and user models live. Nothing is touched at import."""
from __future__ import annotations

import os
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[1]
MODEL_SUFFIX = ".safetensors"


def _first_dir(*candidates: Path) -> Path:
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[0]


def bundled_models_dir() -> Path:
    """models/ of a source checkout, or app/models inside an installed wheel."""
    return _first_dir(APP_DIR.parent / "models", APP_DIR / "models")


def resources_dir() -> Path:
    return _first_dir(APP_DIR.parent / "resources", APP_DIR / "resources")


def user_data_dir() -> Path:
    base = os.environ.get("CHAINRULE_HOME")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "chainrule"


def user_models_dir() -> Path:
    """Models the user trained or imported (created on first save, not here)."""
    return user_data_dir() / "models"


# The bundled models a newcomer should meet first in each tab; others follow by name.
FIRST_BUNDLED = ("mnist", "speech", "shakespeare")


def _bundled_order(path: Path) -> tuple[int, str]:
    stem = path.stem
    return (FIRST_BUNDLED.index(stem) if stem in FIRST_BUNDLED else len(FIRST_BUNDLED), stem)


def list_models() -> list[tuple[str, Path, str]]:
    """(name, path, origin) of every bundled and user model; user names never shadow bundled."""
    found: list[tuple[str, Path, str]] = []
    seen: set[str] = set()
    for origin, folder in (("bundled", bundled_models_dir()), ("user", user_models_dir())):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*{MODEL_SUFFIX}"), key=_bundled_order):
            if path.stem not in seen:
                seen.add(path.stem)
                found.append((path.stem, path, origin))
    return found


def resolve_model(name_or_path: str) -> Path:
    """A bundled/user model name, or a path to a checkpoint file."""
    models = list_models()
    for name, path, _ in models:
        if name == name_or_path:
            return path
    path = Path(name_or_path).expanduser()
    if not path.exists() and "/" not in name_or_path and not path.suffix:
        from .checkpoint import CheckpointError

        known = ", ".join(name for name, _, _ in models) or "none installed"
        raise CheckpointError(name_or_path, f"no model of this name (models: {known}); "
                                            "or give the path of a .safetensors file")
    return path


def derived_cache_path(model_path, folder: str, parts: list, suffix: str, stem: str = ""
                       ) -> Path | None:
    """Where something computed from the model file at `model_path` (and `parts`, JSON
    values) is cached, under user_data_dir()/cache/`folder`. The key holds the file's path,
    modification time and size, so a re-saved model is computed again; None for a model
    with no file (nothing to tell a changed model by)."""
    import hashlib
    import json

    try:
        stat = os.stat(model_path)
    except (OSError, TypeError):
        return None
    key = json.dumps([str(Path(model_path).resolve()), stat.st_mtime_ns, stat.st_size,
                      *parts])
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:40]
    return user_data_dir() / "cache" / folder / f"{safe + '-' if safe else ''}{digest}{suffix}"
