"""House rules from ARCHITECTURE.md that a test can hold."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Which modules each layer must never import, at any depth (inside functions too).
# app/core runs headless (command line, tests, training jobs) and the GUI sits on top of it;
# the command line sits on top of both, so neither of them may reach up into it.
FORBIDDEN = {
    "app/core": ("PySide6", "pyqtgraph", "app.ui", "app.cli", "app.commands"),
    "app/ui": ("app.cli", "app.commands"),
}


def module_name(path: Path, root: Path = ROOT) -> str:
    """app/core/nets/wavenet.py -> app.core.nets.wavenet; a package's __init__ -> the package."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved.

    `from X import y` yields X and X.y (y may be a submodule: `from .. import ui`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                if node.level > len(parts):
                    raise ValueError(f"{path.relative_to(root)}:{node.lineno}: relative import "
                                     f"goes above the top-level package")
                base = ".".join(parts[:len(parts) - node.level + 1] +
                                ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names
                      if alias.name != "*"]
    return found


def contract_breaches(root: Path = ROOT) -> list[str]:
    """'file:line: imports X (app/core must not import Y)', once per forbidden import."""
    breaches: dict[tuple[str, int, str, str], str] = {}
    for layer, forbidden in FORBIDDEN.items():
        for path in sorted((root / layer).rglob("*.py")):
            where = path.relative_to(root).as_posix()
            for line, module in imported_modules(path, root):
                for bad in forbidden:
                    if module == bad or module.startswith(bad + "."):
                        # `from X import a, b` gives X, X.a, X.b: name X once.
                        key = (where, line, layer, bad)
                        if key not in breaches or len(module) < len(breaches[key]):
                            breaches[key] = module
    return [f"{where}:{line}: imports {module} ({layer} must not import {bad})"
            for (where, line, layer, bad), module in sorted(breaches.items())]


def test_layers_import_only_downwards():
    breaches = contract_breaches()
    assert not breaches, "imports that break the layering:\n" + "\n".join(breaches)


@pytest.mark.parametrize("source, module, rule", [
    ("import PySide6.QtCore", "PySide6.QtCore", "PySide6"),
    ("def later():\n    from pyqtgraph import PlotWidget, mkPen", "pyqtgraph", "pyqtgraph"),
    ("from ...ui import workers", "app.ui", "app.ui"),
    ("from ... import cli", "app.cli", "app.cli"),
    ("class A:\n    def f(self):\n        from ...commands.train import run",
     "app.commands.train", "app.commands"),
    ("import app.ui.main_window as window", "app.ui.main_window", "app.ui"),
])
def test_the_contract_check_sees_every_kind_of_import(tmp_path, source, module, rule):
    core = tmp_path / "app" / "core" / "nets"
    core.mkdir(parents=True)
    (core / "net.py").write_text("from . import pixelcnn\nfrom ..config import ConfigBase\n"
                                 + source + "\n")
    line = 2 + len(source.splitlines())            # the import is the file's last line
    assert contract_breaches(tmp_path) == [
        f"app/core/nets/net.py:{line}: imports {module} (app/core must not import {rule})"]


def test_relative_imports_resolve_from_the_package(tmp_path):
    ui = tmp_path / "app" / "ui" / "tabs"
    ui.mkdir(parents=True)
    (ui / "__init__.py").write_text("from .base import Tab\nfrom ..widgets import Canvas\n"
                                    "from ...core import registry\n")
    assert imported_modules(ui / "__init__.py", tmp_path) == [
        (1, "app.ui.tabs.base"), (1, "app.ui.tabs.base.Tab"),
        (2, "app.ui.widgets"), (2, "app.ui.widgets.Canvas"),
        (3, "app.core"), (3, "app.core.registry")]
    assert contract_breaches(tmp_path) == []


def test_importing_the_cli_and_light_core_modules_does_nothing_heavy():
    # No torch, no device choice, no file access at import: `chainrule --help` stays fast.
    code = ("import sys, app.cli, app.core.checkpoint, app.core.config, app.core.codecs, "
            "app.core.paths, app.core.devices, app.core.registry, app.core.outputs; "
            "app.cli.build_parser(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "False"


def test_modules_stay_small():
    long = [f"{p.relative_to(ROOT)}: {n}" for p in (ROOT / "app").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400]
    assert long == []


def test_wheel_package_list_covers_every_package():
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "app").rglob("__init__.py")}
    # Every folder of resources/ travels as a package of data files.
    found |= {".".join(("app",) + p.relative_to(ROOT).parts)
              for p in (ROOT / "resources").rglob("*")
              if p.is_dir() and "__pycache__" not in p.parts} | {"app.resources"}
    assert found <= listed


def test_the_window_can_open_before_torch_loads(tmp_path):
    # The GUI imports no torch and no numba: they load in the background after it shows.
    # Building the window too (its controls once imported torch through a constant).
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'; "
            "from PySide6.QtWidgets import QApplication; app = QApplication([]); "
            "from app.ui.main_window import MainWindow; window = MainWindow(); "
            "print('torch' in sys.modules or 'numba' in sys.modules)")
    env = dict(os.environ, CHAINRULE_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True, env=env).stdout
    assert out.strip().splitlines()[-1] == "False"
