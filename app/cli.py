"""Headless command line: `chainrule sample | inpaint | eval-inpaint | train | eval | info |
models | import | bench | explain | selftest` (selftest opens the window to check an install).

Every command reports bad input as one line on stderr and exit status 2, never a traceback;
a bug is one line too (exit 1), its traceback written to the log file the line names
(app/core/errors.py).
"""
from __future__ import annotations

import argparse
import os
import sys

EXIT_BAD_INPUT = 2
EXIT_BUG = 1

# What to make smaller when a command runs out of device memory, by command.
# What to reduce when memory runs out, naming only flags the command has.
MEMORY_ADVICE = {
    ("sample", "image"): "draw fewer images at once (--n)",
    ("sample", "audio"): "make shorter audio (--seconds) or fewer takes (--n)",
    ("sample", "text"): "write fewer completions (--n) or shorter ones (--length)",
    ("inpaint", None): "fill fewer variations at once (--n)",
    ("eval-inpaint", None): "score fewer images (--images)",
    ("train", None): "lower --batch-size or choose --size small",
    ("eval", None): "lower --batch-size",
}


def _memory_advice(args) -> str:
    """What to reduce, and the CPU only when the run was not already on it."""
    advice = MEMORY_ADVICE.get((args.command, getattr(args, "modality", None)),
                               "use a smaller model")
    device = getattr(args, "device", "cpu")
    on_cpu = device == "cpu" or (device == "auto" and not _accelerator_in_use())
    return advice if on_cpu else f"{advice}, or use --device cpu"


def _accelerator_in_use() -> bool:
    torch = sys.modules.get("torch")       # never imported just to say this
    if torch is None:
        return False
    mps = getattr(torch.backends, "mps", None)
    return bool(torch.cuda.is_initialized() or (mps is not None and mps.is_available()))


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N")
    p.add_argument("--threads", type=_thread_count, default=None,
                   help="CPU threads for torch (default: torch's own choice)")


def _thread_count(text: str) -> int:
    from .core.limits import MAX_THREADS

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_THREADS}, got {value}")
    return value


class OneLineParser(argparse.ArgumentParser):
    """Bad flags end in one line (what is wrong, and where the usage is), exit code 2:
    argparse's own error prints the whole usage first. Sub-commands inherit the class."""

    def error(self, message: str):
        from .core.errors import visible

        self.exit(2, f"{self.prog}: error: {visible(message)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .commands import (
        bench,
        eval_inpaint,
        import_model,
        inpaint,
        inspect,
        sample,
        selftest,
        train,
    )
    from .commands import explain as explain_cmd

    parser = OneLineParser(
        prog="chainrule",
        description="Autoregressive generative models: sample, train and inspect them.")
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (sample, inpaint, eval_inpaint, train, inspect, import_model, bench, explain_cmd,
                   selftest):
        module.add_parsers(sub, _add_common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # What a checkpoint records as the command that made it: these arguments, also when
    # main() is called in-process (sys.argv then belongs to the caller).
    args.command_line = " ".join(["chainrule", *(sys.argv[1:] if argv is None else argv)])
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        if getattr(args, "threads", None):
            import torch

            torch.set_num_threads(args.threads)
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`chainrule info m | head`): stop quietly, as a Unix tool
        # killed by SIGPIPE does, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as err:
        from .core.errors import describe_error, is_user_error, visible

        print(f"chainrule: error: {visible(describe_error(err, _memory_advice(args)))}",
              file=sys.stderr)
        # Exit 2 is 'your input cannot be used'; 1 is a bug, logged with its traceback.
        return EXIT_BAD_INPUT if is_user_error(err) else EXIT_BUG
