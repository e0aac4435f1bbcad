"""One function turns any error into the line a person reads: what the user can fix is said
as it is; a bug is called a bug and its traceback goes to a log file the line names."""
import pytest

from app.core.config import ConfigError
from app.core.errors import UnknownNameError, UserError, describe_error, is_user_error


@pytest.fixture
def log_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    from app.core import errors

    monkeypatch.setattr(errors, "log_path", lambda: tmp_path / "logs" / "errors.log")
    return tmp_path / "logs" / "errors.log"


def test_what_the_user_can_fix_is_said_as_it_is(log_home):
    assert describe_error(ConfigError("height must be positive")) == "height must be positive"
    assert describe_error(UnknownNameError("unknown preset 'x'")) == "unknown preset 'x'"
    missing = FileNotFoundError(2, "No such file or directory", "/tmp/nope.png")
    assert describe_error(missing) == "/tmp/nope.png: No such file or directory"
    assert is_user_error(ConfigError("x")) and is_user_error(missing)
    assert not log_home.exists()


def test_every_user_error_class_derives_from_the_base():
    from app.core.checkpoint import CheckpointError
    from app.core.codecs import CodecError
    from app.core.devices import DeviceError
    from app.core.masks import MaskError
    from app.core.media import MediaError
    from app.core.memory import DeviceOutOfMemory
    from app.core.requests import RequestError
    from app.core.saving import SaveError
    from app.core.training.folders import DataFolderError
    from app.core.training.sources import DataSourceError
    from app.core.training.state import StateError

    for cls in (CheckpointError, CodecError, ConfigError, DeviceError, MaskError, MediaError,
                DeviceOutOfMemory, RequestError, SaveError, DataFolderError, DataSourceError,
                StateError):
        assert issubclass(cls, UserError), cls


def test_a_bug_is_called_a_bug_and_its_traceback_is_logged(log_home):
    def broken():
        return {}["missing key"]

    try:
        broken()
    except KeyError as err:
        line = describe_error(err)
    assert line.startswith("Internal error (a bug in chainrule, not your input): KeyError")
    assert str(log_home) in line and "\n" not in line
    logged = log_home.read_text()
    assert "Traceback" in logged and "in broken" in logged
    # A plain ValueError is a bug too, not the user's mistake.
    assert describe_error(ValueError("shape mismatch")).startswith("Internal error")
    assert not is_user_error(ValueError("x"))


def test_the_cli_exits_1_for_a_bug_and_2_for_bad_input(log_home, monkeypatch, capsys):
    from app import cli

    def explode(args):
        raise RuntimeError("something inside broke")

    assert cli.main(["sample", "image", "--model", "no-such-model"]) == 2
    assert "Internal error" not in capsys.readouterr().err
    parser = cli.build_parser()
    args = parser.parse_args(["models"])
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    monkeypatch.setattr(args, "run", explode, raising=False)
    monkeypatch.setattr(parser, "parse_args", lambda argv=None: args)
    assert cli.main(["models"]) == 1
    err = capsys.readouterr().err
    assert "Internal error" in err and "errors.log" in err and "Traceback" not in err
