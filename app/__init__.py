"""chainrule: a desktop playground for autoregressive generative models."""

# The one place the version is written: pyproject.toml reads it from here, so the window's
# About box, `chainrule --version` and the installed package cannot disagree.
__version__ = "0.2.0.dev0"
