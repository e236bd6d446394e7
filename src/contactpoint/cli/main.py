"""Entry point: ``contactpoint …``. Each command group lives in its own module.

A command's module is imported only when that command runs (the whole set for help or an
unknown command): a daily ``import`` or ``link`` does not pay, at every start, for the web
server, the synthetic generator or the account modules (about 0.7 s on a 2-core machine).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

# command groups in the order of the CLI contract (shared/spec/cli.md): module -> its commands
_GROUPS: dict[str, tuple[str, ...]] = {
    "db": ("db",),
    "synth": ("synth",),
    "importing": ("import",),
    "linking": ("link", "export", "evaluate", "review"),
    "access": ("orgs", "users", "clients"),
    "audit": ("audit",),
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


def _group() -> None:
    """Contactpoint: the national children's index."""


def __getattr__(name: str) -> typer.Typer:  # ``from contactpoint.cli.main import app``
    if name == "app":
        return build()
    raise AttributeError(name)


def main(argv: Sequence[str] | None = None) -> None:
    from contactpoint.cli.output import full_width_help_when_piped

    full_width_help_when_piped()
    args = list(sys.argv[1:] if argv is None else argv)
    build(args[0] if args else None)(args=args)
