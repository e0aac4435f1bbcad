#!/bin/sh
# Start the built bundle on a virtual screen (Xvfb) and let it generate images in its
# window: `chainrule selftest` prints a JSON report and fails if no grid was drawn.
#
#   packaging/check-bundle.sh [BUNDLE_DIR]      (default dist/chainrule)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
bundle=${1:-$here/dist/chainrule}
[ -x "$bundle/chainrule" ] || { echo "check: no bundle at $bundle (run packaging/build-bundle.sh)" >&2; exit 2; }
command -v xvfb-run >/dev/null 2>&1 || { echo "check: xvfb-run is needed (apt-get install xvfb xauth)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bundle/chainrule" --version
# A clean environment: the bundle must not lean on this checkout or its .venv.
env -i HOME="$out" PATH=/usr/bin:/bin LANG=C.UTF-8 \
    timeout 600 xvfb-run -a -s "-screen 0 1280x720x24" \
    "$bundle/chainrule" selftest --out "$out/grid.png"
test -s "$out/grid.png"
echo "check: the bundle opened its window and generated images" >&2
