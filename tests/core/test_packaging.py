"""The desktop entry and AppStream metadata are valid, and the desktop installer works."""
import os
import shutil
import subprocess
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
