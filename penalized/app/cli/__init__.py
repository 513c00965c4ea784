"""The ``penalized`` command line: ``demo``, ``fit``, ``predict``, ``convert``.

Results go to stdout (a table, or JSON with ``--json``); progress and logs go to
stderr (rich progress bars on a terminal, plain lines otherwise). Exit codes:
0 success, 2 bad usage or bad input (one line naming the problem), 1 an unexpected
error (a bug: one line, the traceback with ``--debug``), 130 on Ctrl-C.
"""

from __future__ import annotations

import sys
import traceback

import typer

from ..._version import __version__
from ._output import EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, error_line

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


@app.callback()
def _global_options(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    debug: bool = typer.Option(
        False, "--debug", help="Show the traceback of an unexpected error (anywhere on the "
                               "command line)."),
) -> None:
    """Regularized models (L1 / L2 / elastic net) with alpha chosen by cross-validation."""
    # both are handled by _run before parsing, so that they work after a subcommand too


from . import convert as _convert  # noqa: E402,F401 - registers the commands
from . import demo as _demo  # noqa: E402,F401
from . import fit as _fit  # noqa: E402,F401

# the exceptions that mean "bad input" (exit 2, one line) rather than a bug: ValueError
# is what the library raises for bad data or options, OSError what the system raises
# for files and folders (missing, unreadable, disk full)
BAD_INPUT = (ValueError, OSError)


def _is(exc: BaseException, name: str) -> bool:
    """Class-name test: typer may vendor its own copy of click's exception classes."""
    return any(cls.__name__ == name for cls in type(exc).__mro__)


def _run(args: list[str]) -> int:
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    if args[:1] == ["--version"]:
        print(f"penalized {__version__}")
        return EXIT_OK
    try:
        return _dispatch(args)
    except Exception as exc:  # anything else is a bug in penalized: say so, exit 1
        if debug:
            traceback.print_exc()
        first = str(exc).splitlines()[0] if str(exc) else ""
        error_line(f"unexpected error (a bug in penalized, please report it): "
                   f"{type(exc).__name__}: {first}"
                   + ("" if debug else " (run again with --debug for the traceback)"))
        return EXIT_BUG


def _dispatch(args: list[str]) -> int:
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
        text = str(exc).strip()
        error_line(text.splitlines()[0] if text else type(exc).__name__)
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
