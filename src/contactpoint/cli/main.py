"""Entry point: ``contactpoint …``. Each command group lives in its own module.

A command's module is imported only when that command runs (the whole set for help or an
unknown command): a daily ``import`` or ``link`` does not pay, at every start, for the web
server, the synthetic generator or the account modules (about 0.7 s on a 2-core machine).
"""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

# command groups in the order of the CLI contract (shared/spec/cli.md): module -> its commands
_GROUPS: dict[str, tuple[str, ...]] = {
    "db": ("db",),
    "synth": ("synth",),
    "importing": ("import",),
    "linking": ("link", "export", "evaluate", "review"),
    "access": ("orgs", "users", "clients"),
    "audit": ("audit",),
    "backup": ("backup", "restore"),
    "serve": ("serve",),
    "demo": ("demo",),
    "bench": ("bench",),
}


def build(command: str | None = None) -> typer.Typer:
    """The CLI with every command group, or only the group of ``command`` if it names one."""
    app = typer.Typer(
        name="contactpoint",
        help="Contactpoint: the national children's index.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
    )
    app.callback()(_group)  # a group even when it holds one command
    wanted = [m for m, commands in _GROUPS.items() if command in commands] or list(_GROUPS)
    for name in wanted:
        module = importlib.import_module(f"contactpoint.cli.{name}")
        if hasattr(module, "register"):
            module.register(app)
        else:
            app.add_typer(module.app, name=_GROUPS[name][0])
    return app


_debug = False


def _group(
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show the traceback of a failure (else: one line and its exit code).")
    ] = False,
) -> None:
    """Contactpoint: the national children's index."""
    global _debug  # set once per process, before the command runs
    _debug = debug


def __getattr__(name: str) -> typer.Typer:  # ``from contactpoint.cli.main import app``
    if name == "app":
        return build()
    raise AttributeError(name)


def main(argv: Sequence[str] | None = None) -> None:
    from contactpoint.cli.output import full_width_help_when_piped

    full_width_help_when_piped()
    args = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args if not a.startswith("-")), None)
    try:
        build(command)(args=args)
    except Exception as exc:
        if _debug:
            raise
        sys.exit(_report(exc))
    finally:
        _spare_the_final_collection()


def _spare_the_final_collection() -> None:
    """The command is done and the process about to end: the interpreter's last collection
    need not walk every object the run left (its imports: SQLAlchemy, polars, pydantic,
    Splink). Measured after the modules a delta's ``import --link`` loads: 0.39-0.93 s of
    teardown, 0.03-0.07 s frozen. What it skips only frees memory: files are closed by their
    ``with`` blocks, logging and temporary directories are finished at exit, not by it."""
    gc.freeze()


def _report(exc: Exception) -> int:
    """One line on standard error for a failure, and its exit code (docs/operations.md)."""
    from contactpoint.cli import context
    from contactpoint.cli.failures import ExitCode, classify

    try:
        url: str | None = context.settings().effective_database_url
    except Exception:  # the settings themselves may be what failed
        url = None
    failure = classify(exc, url)
    hint = " (run with --debug for the traceback)" if failure.code == ExitCode.INTERNAL else ""
    context.console.print(f"error: {failure.message}{hint}", markup=False, highlight=False,
                          soft_wrap=True)
    return int(failure.code)
