"""Habits the suite holds: the code is lint-clean (ruff) and app/core type-checks (mypy).

Both tools come with the dev extra (`pip install -e .[dev]`, which `packaging/setup.sh test`
runs); their settings live in pyproject.toml ([tool.ruff], [tool.mypy]). The import rules
between app/core, app/ui and the command line are in tests/core/test_architecture.py.
"""
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_tool(module: str, *args: str) -> subprocess.CompletedProcess:
    assert importlib.util.find_spec(module) is not None, \
        f"{module} is not installed: pip install -e '.[dev]' (packaging/setup.sh test does)"
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff_finds_nothing():
    # One line per problem: file:line:col: code message.
    result = run_tool("ruff", "check", "--output-format=concise", "app", "tests", "benchmarks")
    assert result.returncode == 0, \
        f"ruff found problems (fix them by hand in the files named):\n" \
        f"{result.stdout}{result.stderr}"


def test_mypy_passes_on_core():
    # Files and options from pyproject.toml; the cache (.mypy_cache/, git-ignored) makes a
    # re-run take seconds rather than half a minute.
    result = run_tool("mypy")
    assert result.returncode == 0, \
        f"mypy found problems in app/core:\n{result.stdout}{result.stderr}"
