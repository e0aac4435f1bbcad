"""The bundle's entry point (PyInstaller runs this file): the same as the `chainrule`
command, the window with no arguments and the command line with them."""
import sys

from app.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
