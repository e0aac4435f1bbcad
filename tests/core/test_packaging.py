"""The desktop entry and AppStream metadata are valid, and the desktop installer works."""
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "org.chainrule.Chainrule"
DESKTOP = ROOT / "packaging" / f"{APP_ID}.desktop"
METAINFO = ROOT / "packaging" / f"{APP_ID}.metainfo.xml"


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} not found: apt-get install desktop-file-utils appstream " \
                 "(packaging/setup.sh test installs them)"
    return path


def test_desktop_entry_is_valid():
    result = subprocess.run([_tool("desktop-file-validate"), str(DESKTOP)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()


def test_appstream_metainfo_is_valid_and_consistent():
    result = subprocess.run([_tool("appstreamcli"), "validate", "--no-net", str(METAINFO)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == DESKTOP.name
    assert f"Icon={APP_ID}" in DESKTOP.read_text()
    assert (ROOT / "resources" / "icons" / f"{APP_ID}.svg").is_file()


def test_install_desktop_script_writes_entry_pointing_at_the_venv(tmp_path):
    fake = tmp_path / "checkout"
    shutil.copytree(ROOT / "packaging", fake / "packaging")
    shutil.copytree(ROOT / "resources", fake / "resources")
    exe = fake / ".venv" / "bin" / "chainrule"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"))
    subprocess.run(["sh", str(fake / "packaging" / "install-desktop.sh")], env=env, check=True,
                   capture_output=True)
    entry = tmp_path / "data" / "applications" / f"{APP_ID}.desktop"
    assert f"Exec={exe}" in entry.read_text()
    icons = tmp_path / "data" / "icons" / "hicolor" / "scalable" / "apps"
    assert (icons / f"{APP_ID}.svg").exists()
    subprocess.run(["sh", str(fake / "packaging" / "install-desktop.sh"), "--remove"], env=env,
                   check=True, capture_output=True)
    assert not entry.exists()


def _fake_checkout(tmp_path) -> Path:
    """packaging/ and pyproject.toml beside a .venv whose python and chainrule only log
    what they were asked to do, and a dpkg-query that finds every system package."""
    fake = tmp_path / "checkout"
    shutil.copytree(ROOT / "packaging", fake / "packaging")
    shutil.copy(ROOT / "pyproject.toml", fake / "pyproject.toml")
    log = tmp_path / "calls.log"
    for tool in (fake / ".venv" / "bin" / "python", fake / ".venv" / "bin" / "chainrule",
                 tmp_path / "bin" / "dpkg-query"):
        tool.parent.mkdir(parents=True, exist_ok=True)
        if tool.name == "dpkg-query":
            tool.write_text("#!/bin/sh\necho 'install ok installed'\n")
        else:
            tool.write_text(f'#!/bin/sh\necho "{tool.name} $*" >> "{log}"\n')
        tool.chmod(0o755)
    return fake


def test_setup_run_after_setup_test_does_not_install_again(tmp_path):
    fake = _fake_checkout(tmp_path)
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    for mode in ("test", "run", "run"):
        subprocess.run(["sh", str(fake / "packaging" / "setup.sh"), mode, "--version"],
                       env=env, check=True, capture_output=True, cwd=tmp_path)
    calls = (tmp_path / "calls.log").read_text().splitlines()
    installs = [c for c in calls if "pip install" in c and "--upgrade pip" not in c]
    assert installs == ["python -m pip install -q -e .[dev]"], calls
    assert calls[-2:] == ["chainrule --version", "chainrule --version"]
    # A plain install first, then tests: the test tools are still installed.
    (tmp_path / "calls.log").unlink()
    fake2 = _fake_checkout(tmp_path / "second")
    for mode in ("install", "test"):
        subprocess.run(["sh", str(fake2 / "packaging" / "setup.sh"), mode], env=env, check=True,
                       capture_output=True, cwd=tmp_path)
    calls = (tmp_path / "second" / "calls.log").read_text().splitlines()
    assert [c.split()[-1] for c in calls if "pip install -q -e" in c] == [".", ".[dev]"]


def test_version_is_one_string_everywhere():
    import importlib.metadata

    import app

    assert importlib.metadata.version("chainrule") == app.__version__
    result = subprocess.run([str(Path(sys.executable).parent / "chainrule"), "--version"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"chainrule {app.__version__}"
