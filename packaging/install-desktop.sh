#!/bin/sh
# Add chainrule to the desktop's application menu for the current user:
# the desktop entry (pointing at this checkout's .venv), the icon and the AppStream metadata.
#   packaging/install-desktop.sh            install into ${XDG_DATA_HOME:-~/.local/share}
#   packaging/install-desktop.sh --remove   take them out again
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
id=org.chainrule.Chainrule
entry="$data/applications/$id.desktop"
icon="$data/icons/hicolor/scalable/apps/$id.svg"
meta="$data/metainfo/$id.metainfo.xml"

if [ "${1:-}" = "--remove" ]; then
    rm -f "$entry" "$icon" "$meta"
    echo "removed chainrule's desktop entry"
    exit 0
fi
exe="$here/.venv/bin/chainrule"
[ -x "$exe" ] || { echo "run packaging/setup.sh install first ($exe not found)" >&2; exit 1; }
mkdir -p "$(dirname "$entry")" "$(dirname "$icon")" "$(dirname "$meta")"
sed "s|^Exec=chainrule|Exec=$exe|" "$here/packaging/$id.desktop" > "$entry"
cp "$here/resources/icons/$id.svg" "$icon"
cp "$here/packaging/$id.metainfo.xml" "$meta"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" || true
echo "installed $entry"
