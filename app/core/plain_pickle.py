"""Reading a pickle that should hold only plain data (nanoGPT's meta.pkl), without an
unpickler.

Python's unpickler can run any code a file names, and even a restricted one can be made to
crash or hang by a file built for it. So this reads the opcodes (pickletools.genops parses
them without executing anything) and builds only None, booleans, numbers, strings, lists,
tuples and dicts, with a cap on the file's size and on the objects built; any other opcode
(a global, a call, an object's state, bytes, sets ...) refuses the whole file.
"""
from __future__ import annotations

import pickletools
from pathlib import Path

MAX_BYTES = 4 << 20          # a character vocabulary pickle is a few kilobytes
MAX_OBJECTS = 1_000_000      # values built, all told


class PlainPickleError(ValueError):
    """A file that is not a pickle of plain data (or not a pickle at all)."""


_VALUE_ARG = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT",
              "BINFLOAT", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"}
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_MEMO_PUT = {"PUT", "BINPUT", "LONG_BINPUT"}
_MEMO_GET = {"GET", "BINGET", "LONG_BINGET"}
_IGNORED = {"PROTO", "FRAME"}


class _Machine:
    def __init__(self, what: str):
        self.what = what
        self.stack: list = []
        self.marks: list[int] = []
        self.memo: dict = {}
        self.built = 0

    def fail(self, why: str) -> PlainPickleError:
        return PlainPickleError(f"{self.what}: {why}")

    def push(self, value) -> None:
        self.built += 1
        if self.built > MAX_OBJECTS:
            raise self.fail(f"holds more than {MAX_OBJECTS:,} values")
        self.stack.append(value)

    def pop(self):
        if len(self.stack) <= (self.marks[-1] if self.marks else 0):
            raise self.fail("is damaged (an opcode needs a value that is not there)")
        return self.stack.pop()

    def pop_mark(self) -> list:
        if not self.marks:
            raise self.fail("is damaged (no mark to close)")
        start = self.marks.pop()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def top(self, kind: type):
        if not self.stack or len(self.stack) <= (self.marks[-1] if self.marks else 0):
            raise self.fail("is damaged (an opcode needs a value that is not there)")
        if not isinstance(self.stack[-1], kind):
            raise self.fail(f"is damaged (expected a {kind.__name__} to fill)")
        return self.stack[-1]

    def key(self, key):
        if not isinstance(key, (str, int, float, bool, type(None))):
            raise self.fail(f"uses a {type(key).__name__} as a dictionary key")
        return key

    def run(self, name: str, arg) -> None:
        if name in _VALUE_ARG:
            if isinstance(arg, int) and arg.bit_length() > 64:
                raise self.fail("holds an integer of more than 64 bits")
            self.push(arg)
        elif name in _CONSTANTS:
            self.push(_CONSTANTS[name])
        elif name == "MARK":
            self.marks.append(len(self.stack))
        elif name in ("EMPTY_DICT", "EMPTY_LIST", "EMPTY_TUPLE"):
            self.push({} if name == "EMPTY_DICT" else [] if name == "EMPTY_LIST" else ())
        elif name == "LIST":
            self.push(self.pop_mark())
        elif name == "TUPLE":
            self.push(tuple(self.pop_mark()))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            items = [self.pop() for _ in range(int(name[-1]))]
            self.push(tuple(reversed(items)))
        elif name == "DICT":
            items = self.pop_mark()
            self.push(self._pairs(items, {}))
        elif name == "APPEND":
            value = self.pop()
            self.top(list).append(value)
        elif name == "APPENDS":
            items = self.pop_mark()
            self.top(list).extend(items)
        elif name == "SETITEM":
            value, key = self.pop(), self.pop()
            self.top(dict)[self.key(key)] = value
        elif name == "SETITEMS":
            items = self.pop_mark()
            self._pairs(items, self.top(dict))
        elif name in _MEMO_PUT or name == "MEMOIZE":
            index = len(self.memo) if name == "MEMOIZE" else arg
            if not self.stack:
                raise self.fail("is damaged (nothing to remember)")
            self.memo[index] = self.stack[-1]
        elif name in _MEMO_GET:
            if arg not in self.memo:
                raise self.fail("is damaged (refers to a value it never stored)")
            self.push(self.memo[arg])
        elif name == "POP":
            if self.marks and len(self.stack) == self.marks[-1]:
                self.marks.pop()
            else:
                self.pop()
        elif name == "POP_MARK":
            self.pop_mark()
        elif name == "DUP":
            value = self.pop()
            self.push(value)
            self.push(value)
        elif name not in _IGNORED:
            raise self.fail(f"holds more than plain data (pickle opcode {name}: "
                            f"{_WHY.get(name, 'not a plain value')}); refused without running it")

    def _pairs(self, items: list, into: dict) -> dict:
        if len(items) % 2:
            raise self.fail("is damaged (a dictionary item without its value)")
        for key, value in zip(items[::2], items[1::2]):
            into[self.key(key)] = value
        return into


_WHY = {"GLOBAL": "names a Python object", "STACK_GLOBAL": "names a Python object",
        "REDUCE": "calls a function", "BUILD": "sets an object's state",
        "INST": "creates an object", "OBJ": "creates an object", "NEWOBJ": "creates an object",
        "NEWOBJ_EX": "creates an object", "EXT1": "names a registered object",
        "EXT2": "names a registered object", "EXT4": "names a registered object",
        "PERSID": "refers outside the file", "BINPERSID": "refers outside the file"}


def load_plain(path) -> object:
    """The plain value a pickle file holds; PlainPickleError for anything else."""
    path = Path(path)
    what = str(path)
    try:
        if not path.is_file():
            raise PlainPickleError(f"{what}: not a regular file")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise PlainPickleError(f"{what}: {size:,} bytes is too large for a vocabulary "
                                   f"(at most {MAX_BYTES:,})")
        data = path.read_bytes()
    except OSError as err:
        raise PlainPickleError(f"{what}: cannot read: {err.strerror or err}") from None
    return loads_plain(data, what)


def loads_plain(data: bytes, what: str = "pickle") -> object:
    machine = _Machine(what)
    try:
        for opcode, arg, _pos in pickletools.genops(data):
            if opcode.name == "STOP":
                if len(machine.stack) != 1 or machine.marks:
                    raise machine.fail("is damaged (it ends with a half-built value)")
                return machine.stack[0]
            machine.run(opcode.name, arg)
    except PlainPickleError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, OverflowError,
            UnicodeDecodeError) as err:      # genops on a damaged or foreign file
        raise machine.fail(f"not a readable pickle ({err})") from None
    raise machine.fail("not a readable pickle (it ends before its STOP opcode)")
