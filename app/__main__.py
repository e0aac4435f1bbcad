"""`python -m app` and the `chainrule` console script."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """No arguments (or only a file to open): the desktop app. Otherwise: the command line."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (len(argv) == 1 and not argv[0].startswith("-") and "." in argv[0]):
        from .ui.app import run_gui

        return run_gui([sys.argv[0]] + argv)
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
