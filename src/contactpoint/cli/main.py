"""Entry point: ``contactpoint …``. Each command group lives in its own module."""

from __future__ import annotations

import typer

from contactpoint.cli import access, audit, bench, db, demo, importing, linking, serve, synth

app = typer.Typer(
    name="contactpoint",
    help="Contactpoint: the national children's index.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db.app, name="db")
# command registrations, in the order of the CLI contract (shared/spec/cli.md)
synth.register(app)
importing.register(app)
linking.register(app)  # link, export, evaluate, review
access.register(app)  # orgs, users, clients
app.add_typer(audit.app, name="audit")
serve.register(app)
demo.register(app)
app.add_typer(bench.app, name="bench")


def main() -> None:
    app()
