#!/bin/sh
# Build chainrule as one self-contained folder (Python, Qt, torch, the bundled models) with
# PyInstaller, and a tarball of it to unpack and run anywhere with the same OS and CPU:
#
#   packaging/build-bundle.sh          -> dist/chainrule/chainrule
#                                         dist/chainrule-VERSION-linux-ARCH.tar.gz
#
# Uses (and if needed makes) .venv via packaging/setup.sh; installs PyInstaller into it.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
say() { printf 'bundle: %s\n' "$*" >&2; }

[ -x .venv/bin/python ] || packaging/setup.sh install
.venv/bin/python -m pip install -q "pyinstaller>=6.10,<7"
version=$(.venv/bin/python -c "import app; print(app.__version__)")
arch=$(uname -m)
started=$(date +%s)
say "building chainrule $version for $arch (a few minutes)"
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist \
    --workpath build/pyinstaller packaging/chainrule.spec
tarball="dist/chainrule-$version-linux-$arch.tar.gz"
tar -C dist -czf "$tarball" chainrule
say "done in $(( $(date +%s) - started )) s: dist/chainrule/ ($(du -sh dist/chainrule | cut -f1)), $tarball ($(du -sh "$tarball" | cut -f1))"
