#!/bin/sh
# Set up chainrule in ./.venv (system libraries, Python packages), then run it or its tests.
#
#   packaging/setup.sh run [ARGS...]   set up, then start chainrule (ARGS go to chainrule)
#   packaging/setup.sh test [ARGS...]  set up with test tools, then run the whole test suite
#   packaging/setup.sh install         set up only
#
# Safe to re-run: packages already present are not installed again.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
mode=${1:-install}
[ $# -gt 0 ] && shift

say() { printf 'setup: %s\n' "$*" >&2; }

# --- system libraries (Debian / Ubuntu) -------------------------------------------------
# PortAudio for sounddevice; the X/xcb, EGL and font libraries Qt's platform plugins load.
runtime_pkgs="libportaudio2 libegl1 libgl1 libfontconfig1 libdbus-1-3 libglib2.0-0
  libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
  libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xkb1 libxcb-xinerama0 libx11-xcb1"
# Validators for the desktop entry and AppStream metadata, a PulseAudio null sink
# through which a test plays audio for real (there is no sound card on CI), and the
# virtual screen on which CI starts the PyInstaller bundle (packaging/check-bundle.sh).
test_pkgs="desktop-file-utils appstream pulseaudio libasound2-plugins xvfb xauth"

missing_pkgs() {
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}

install_system() {
    command -v dpkg-query >/dev/null 2>&1 || {
        say "not a Debian-based system: install PortAudio and Qt's xcb libraries yourself"
        return 0
    }
    # shellcheck disable=SC2086
    need=$(missing_pkgs "$@" | tr '\n' ' ')
    python3 -c "import ensurepip, venv" 2>/dev/null || need="$need python3-venv"
    [ -z "$(echo "$need" | tr -d ' ')" ] && return 0
    if [ "$(id -u)" = 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo"
    else
        say "missing system packages: $need"
        say "install them with:  sudo apt-get install -y --no-install-recommends $need"
        exit 1
    fi
    say "installing system packages: $need"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    $sudo apt-get install -y -q --no-install-recommends $need >/dev/null
}

# --- Python environment ------------------------------------------------------------------
install_python() {
    spec=$1   # "." or ".[dev]"
    tag=$(echo "$spec" | tr -cd 'a-z')
    command -v python3 >/dev/null 2>&1 || { say "python3 (3.11 or newer) is required"; exit 1; }
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        { say "python3 is $(python3 -V 2>&1); chainrule needs 3.11 or newer"; exit 1; }
    [ -x .venv/bin/python ] || { say "creating .venv"; python3 -m venv .venv; }
    # Re-install only when the project's requirements changed since the last install. A
    # test install (".[dev]") holds everything a plain one needs, so `run` after `test`
    # starts at once instead of installing the same packages again.
    sum=$(cksum < pyproject.toml | cut -d' ' -f1)
    stamp=".venv/.chainrule-${tag:-base}-$sum"
    if [ ! -f "$stamp" ] && ! { [ -z "$tag" ] && [ -f ".venv/.chainrule-dev-$sum" ]; }; then
        say "installing Python packages (torch==2.13.0 CPU build, PySide6, ...)"
        .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
        .venv/bin/python -m pip install -q -e "$spec"
        rm -f .venv/.chainrule-"${tag:-base}"-*
        touch "$stamp"
    fi
}

case "$mode" in
    run)
        # shellcheck disable=SC2086
        install_system $runtime_pkgs
        install_python .
        exec .venv/bin/chainrule "$@"
        ;;
    test)
        # shellcheck disable=SC2086
        install_system $runtime_pkgs $test_pkgs
        install_python '.[dev]'
        exec .venv/bin/python -m pytest "$@"
        ;;
    install)
        # shellcheck disable=SC2086
        install_system $runtime_pkgs
        install_python .
        say "done: run .venv/bin/chainrule"
        ;;
    *)
        say "usage: packaging/setup.sh run|test|install [ARGS...]"
        exit 2
        ;;
esac
