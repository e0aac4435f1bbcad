"""House rules from ARCHITECTURE.md that a test can hold."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_core_never_imports_qt():
    qt_import = re.compile(r"^\s*(from|import)\s+(PySide6|pyqtgraph)", re.MULTILINE)
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "app" / "core").rglob("*.py")
                 if qt_import.search(p.read_text())]
    assert offenders == []


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


def test_the_window_can_open_before_torch_loads():
    # The GUI imports no torch and no numba: they load in the background after it shows.
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'; "
            "import app.ui.main_window; print('torch' in sys.modules or 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "False"
