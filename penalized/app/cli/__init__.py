"""The ``penalized`` command line: ``demo``, ``fit``, ``predict``, ``convert``.

Results go to stdout (a table, or JSON with ``--json``); progress and logs go to
stderr (rich progress bars on a terminal, plain lines otherwise). Exit codes:
0 success, 2 bad usage or bad input (one line naming the problem), 130 on Ctrl-C.
"""

from __future__ import annotations

import sys

import typer

from ._output import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, error_line

app = typer.Typer(
    name="penalized",
    help="Regularized models (L1 / L2 / elastic net) with alpha chosen by cross-validation.",
    epilog="Examples:\n\n  penalized demo\n\n  penalized fit houses.csv --target price\n\n"
           "  penalized predict run/ new.csv --out predictions.csv\n\n"
           "  penalized convert --from sklearn-ridge --alpha 1.0 --n-samples 442 --to all",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

from . import convert as _convert  # noqa: E402,F401 - registers the commands
from . import demo as _demo  # noqa: E402,F401
from . import fit as _fit  # noqa: E402,F401

# the exceptions that mean "bad input" (exit 2, one line) rather than a bug
BAD_INPUT = (ValueError, TypeError, FileNotFoundError, IsADirectoryError, PermissionError,
             KeyError)


def _is(exc: BaseException, name: str) -> bool:
    """Class-name test: typer may vendor its own copy of click's exception classes."""
    return any(cls.__name__ == name for cls in type(exc).__mro__)


def _run(args: list[str]) -> int:
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="penalized", standalone_mode=False)
        if result == EXIT_INTERRUPTED:  # typer turns KeyboardInterrupt into Exit(130)
            error_line("interrupted")
        return result if isinstance(result, int) else EXIT_OK
    except KeyboardInterrupt:
        error_line("interrupted")
        return EXIT_INTERRUPTED
    except BAD_INPUT as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        error_line(str(message).splitlines()[0] if str(message) else type(exc).__name__)
        return EXIT_USAGE
    except Exception as exc:
        if _is(exc, "NoArgsIsHelpError"):
            exc.show()
            return EXIT_USAGE
        if _is(exc, "UsageError"):
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else "penalized"
            error_line(f"{exc.format_message()} (see '{where} --help')")
            return EXIT_USAGE
        if _is(exc, "Abort"):
            error_line("interrupted")
            return EXIT_INTERRUPTED
        if _is(exc, "Exit"):
            return int(getattr(exc, "exit_code", EXIT_OK))
        if _is(exc, "ClickException"):
            error_line(exc.format_message())
            return EXIT_USAGE
        raise


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``penalized`` script.

    With ``argv`` given (tests), returns the exit code; otherwise exits with it.
    """
    code = _run(sys.argv[1:] if argv is None else list(argv))
    if argv is None:
        sys.exit(code)
    return code
