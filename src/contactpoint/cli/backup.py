"""``contactpoint backup DIR`` and ``contactpoint restore DIR`` (docs/operations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from contactpoint.cli import context, output
from contactpoint.cli.output import JsonOption
from contactpoint.ops import backup as backups


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)


def _report(verb: str, directory: Path, manifest: dict[str, Any], as_json: bool) -> None:
    for note in manifest["notes"]:
        context.console.print(f"note: {note}", markup=False, soft_wrap=True)
    if as_json:
        output.emit({"directory": str(directory), **manifest})
        return
    counts = manifest["counts"]
    context.out.print(
        f"{verb} {directory}: {manifest['backend']} database at {', '.join(manifest['schema'])}, "
        f"{counts['children']:,} children, {counts['source_records']:,} source records, "
        f"{counts['audit_entries']:,} audit entries, {len(manifest['files'])} files "
        f"(backup taken {manifest['created_at']})", markup=False, highlight=False, soft_wrap=True)


def backup(
    directory: Annotated[Path, typer.Argument(help="A new (or empty) directory.")],
    as_json: JsonOption = False,
) -> None:
    """Back up the database, linkage models and store, audit key and checkpoints, online."""
    where = backups.Locations.from_settings(context.settings())
    context.engine()  # the schema check: a backup of a database this version cannot read is no use
    manifest = backups.backup(where, directory, actor=context.actor())
    _report("backed up to", directory, manifest, as_json)


def restore(
    directory: Annotated[Path, typer.Argument(help="A directory written by `backup`.")],
    as_json: JsonOption = False,
) -> None:
    """Restore a backup into an empty database and empty state directories (hashes checked
    first); then `audit verify` and carry on with `import` and `link`."""
    if not directory.is_dir():
        from contactpoint.errors import PathMissing

        raise PathMissing(f"no such file: {directory}")
    where = backups.Locations.from_settings(context.settings())
    manifest = backups.restore(where, directory, actor=context.actor())
    _report("restored from", directory, manifest, as_json)
