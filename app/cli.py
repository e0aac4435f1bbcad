"""Headless command line: `chainrule sample | inpaint | eval-inpaint | train | eval | info |
models | import | bench`.

Every command reports bad input as one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys

EXIT_BAD_INPUT = 2

# What to make smaller when a command runs out of device memory, by command.
MEMORY_ADVICE = {
    "sample": "make less at once (--n, --seconds or --length) or use --device cpu",
    "inpaint": "fill fewer variations at once (--n) or use --device cpu",
    "eval-inpaint": "score fewer images (--images) or use --device cpu",
    "train": "lower --batch-size, choose --size small, or use --device cpu",
}


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's own choice)")


def build_parser() -> argparse.ArgumentParser:
    from .commands import bench, eval_inpaint, import_model, inpaint, inspect, sample, train

    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Autoregressive generative models: sample, train and inspect them.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (sample, inpaint, eval_inpaint, train, inspect, import_model, bench):
        module.add_parsers(sub, _add_common)
    return parser


def bad_input_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean 'the user gave us something unusable', reported in one line."""
    from .core.checkpoint import CheckpointError
    from .core.codecs import CodecError
    from .core.config import ConfigError
    from .core.devices import DeviceError
    from .core.masks import MaskError
    from .core.media import MediaError
    from .core.memory import DeviceOutOfMemory
    from .core.saving import SaveError
    from .core.training.folders import DataFolderError
    from .core.training.sources import DataSourceError
    from .core.training.state import StateError

    # SaveError (a full disk, a folder that cannot be written) is not the user's mistake,
    # but it is reported the same way: one line that says what happened to their files.
    return (CheckpointError, CodecError, ConfigError, DeviceError, DataSourceError,
            DataFolderError, DeviceOutOfMemory, MaskError, MediaError, SaveError, StateError,
            FileNotFoundError, IsADirectoryError, PermissionError)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        if getattr(args, "threads", None):
            import torch

            torch.set_num_threads(args.threads)
        return int(args.run(args) or 0)
    except bad_input_errors() as err:
        print(f"chainrule: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyError as err:   # unknown preset / kind / model name
        print(f"chainrule: error: {err.args[0] if err.args else err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        from .core.memory import is_out_of_memory, out_of_memory_text

        if not is_out_of_memory(err):
            raise
        advice = MEMORY_ADVICE.get(args.command, "use a smaller model or --device cpu")
        print(f"chainrule: error: {out_of_memory_text(err, advice)}", file=sys.stderr)
        return EXIT_BAD_INPUT
