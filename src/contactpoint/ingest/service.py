"""Import one feed file: atomic (one transaction), idempotent (content hash), nothing lost.

Flow per file: hash the bytes -> already imported? -> resolve source/date/type (manifest,
file hints, command line) -> refuse an extract older than the last one applied -> register
an unknown source -> stream batches through validation into a staging table -> file-level
checks (duplicates, ragged rows, reject limit) -> set-based upsert, deletes, retirement ->
extract counts -> reject report -> commit. Any refusal rolls the whole file back.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.errors import FeedRefused
from contactpoint.ingest import registry
from contactpoint.ingest.manifest import ExtractMeta, check_source_code, load_manifest
from contactpoint.ingest.pipeline import validated_batches
from contactpoint.ingest.readers import FeedReader, ReaderOptions, feed_format, make_reader
from contactpoint.ingest.rejects import RejectSink
from contactpoint.ingest.staging import Batch, DirectConflict, Stager
from contactpoint.ingest.validate import Rules

log = logging.getLogger(__name__)
PAUSE_ENV = "CONTACTPOINT_INGEST_PAUSE_AT"  # test hook: pause at a named point (kill tests)


@dataclass
class ImportOptions:
    report_dir: Path
    source: str | None = None
    reject_limit: float = 0.05
    ignore_unknown_columns: bool = False
    extract_type: str | None = None
    extract_date: date | None = None
    min_birth_date: date = date(1900, 1, 1)
    max_xml_bytes: int = 512 * 1024 * 1024
    actor: str = "cli"
    today: date = field(default_factory=lambda: datetime.now(UTC).date())


@dataclass
class FileResult:
    path: Path
    status: str  # landed | already_imported | refused
    message: str = ""
    format: str = ""
    source: str | None = None
    source_registered: bool = False
    source_recognised: bool = True
    extract_type: str | None = None
    extract_date: date | None = None
    rows_read: int = 0
    rows_landed: int = 0
    rows_rejected: int = 0
    rows_retired: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    unknown_deletes: int = 0
    seconds: float = 0.0
    reject_report: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status != "refused"

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _pause(point: str) -> None:
    if os.environ.get(PAUSE_ENV) == point:
        sys.stderr.write(f"ingest-pause: {point}\n")
        sys.stderr.flush()
        time.sleep(600)


def _pause_after_each(batches: Iterator[Batch]) -> Iterator[Batch]:
    for batch in batches:
        yield batch
        _pause("batch")  # the first batch has been handed to the database


def resolve_meta(
    path: Path, fmt: str, reader: FeedReader, options: ImportOptions, today: date
) -> ExtractMeta:
    manifest = load_manifest(path, required=fmt == "csv")
    hints = reader.hints()
    source = (manifest.source if manifest else None)
    if source and options.source and options.source != source:
        raise FeedRefused(
            f"{path.name}: the manifest says source {source!r} but --source says "
            f"{options.source!r}"
        )
    source = source or options.source or hints.source
    if not source:
        raise FeedRefused(
            f"{path.name}: no source: give --source CODE, a manifest, or Bundle.meta.source"
        )
    check_source_code(source, path.name)
    extract_date = (
        (manifest.extract_date if manifest else None) or options.extract_date
        or hints.extract_date or today
    )
    extract_type = (
        (manifest.extract_type if manifest else None) or options.extract_type
        or hints.extract_type or "delta"
    )
    if extract_date > today:
        raise FeedRefused(f"{path.name}: extract_date {extract_date} is in the future")
    return ExtractMeta(source=source, extract_date=extract_date, extract_type=extract_type)


def report_path(report_dir: Path, path: Path) -> Path:
    candidate = report_dir / f"{path.name}.rejects.csv"
    n = 2
    while candidate.exists():
        candidate = report_dir / f"{path.name}.{n}.rejects.csv"
        n += 1
    return candidate


def import_file(
    engine: Engine,
    path: Path,
    options: ImportOptions,
    tick: Callable[[int], None] = lambda _n: None,
) -> FileResult:
    started = time.perf_counter()
    result = FileResult(path=path, status="refused")
    content_hash: str | None = None
    # First try direct mode (a source with no records yet: rows go straight into
    # source_record); a duplicate key or a delete in such a file rolls that attempt back
    # and the file is read again through the staging table.
    for direct in (True, False):
        result = FileResult(path=path, status="refused")
        with RejectSink() as sink:
            try:
                result.format = feed_format(path)
                if not path.is_file():
                    raise FeedRefused(f"{path}: no such file")
                content_hash = content_hash or file_sha256(path)
                with engine.connect() as conn:
                    try:
                        _import(conn, path, content_hash, options, result, sink, tick, direct)
                    finally:
                        if conn.in_transaction():
                            conn.rollback()
            except DirectConflict as exc:
                log.info("import %s: direct load not possible (%s); staging instead",
                         result.format, exc)
                continue
            except FeedRefused as exc:
                result.status = "refused"
                result.message = exc.message
                if sink.lines:
                    result.reject_report = sink.write_report(
                        report_path(options.report_dir, path)
                    )
                _audit_refusal(engine, path, content_hash, options, result)
        break
    result.seconds = time.perf_counter() - started
    log.info(
        "import %s status=%s read=%d landed=%d rejected=%d retired=%d seconds=%.2f",
        result.format, result.status, result.rows_read, result.rows_landed,
        result.rows_rejected, result.rows_retired, result.seconds,
    )
    return result


def _audit_refusal(
    engine: Engine, path: Path, content_hash: str | None, options: ImportOptions,
    result: FileResult,
) -> None:
    """Every refused file leaves a trace (review finding 7), in a transaction of its own:
    the import's own transaction has been rolled back."""
    with engine.begin() as conn:
        trail.append(
            conn, action=AuditAction.IMPORT_REFUSED, actor=options.actor, organisation=None,
            subject=None,
            details={"file": path.name[:200], "sha256": content_hash, "format": result.format,
                     "source": result.source, "rows_read": result.rows_read,
                     "rows_rejected": result.rows_rejected,
                     "why": (result.message or "")[:500]},
        )


def _import(
    conn: Connection, path: Path, content_hash: str, options: ImportOptions,
    result: FileResult, sink: RejectSink, tick: Callable[[int], None], direct: bool,
) -> None:
    now = datetime.now(UTC)
    seen = registry.find_extract_by_hash(conn, content_hash)
    if seen is not None:
        result.status = "already_imported"
        result.message = f"already imported (as {seen[0]}, extract of {seen[1]}): nothing changed"
        return
    reader = make_reader(
        path,
        ReaderOptions(
            ignore_unknown_columns=options.ignore_unknown_columns,
            max_xml_bytes=options.max_xml_bytes,
        ),
        tick,
    )
    meta = resolve_meta(path, result.format, reader, options, options.today)
    _pause("reader")
    result.source, result.extract_type = meta.source, meta.extract_type
    result.extract_date = meta.extract_date
    last = registry.last_extract_date(conn, meta.source)
    if last is not None and meta.extract_date < last:
        raise FeedRefused(
            f"{path.name}: extract of {meta.extract_date} is older than the last extract "
            f"applied from {meta.source} ({last}); refused"
        )
    result.source_registered, result.source_recognised = registry.ensure_source(
        conn, meta.source, now
    )
    try:
        extract_id = registry.insert_extract(
            conn,
            registry.ExtractRow(
                source_code=meta.source, file_name=str(path), content_hash=content_hash,
                format=result.format, extract_type=meta.extract_type,
                extract_date=meta.extract_date,
            ),
            now,
        )
    except IntegrityError:
        raise FeedRefused(
            f"{path.name}: the same file is being imported by another process"
        ) from None
    _pause("extract")
    stager = Stager(conn)
    if direct:
        stager.try_direct(meta.source, extract_id, now)
    stager.create()
    try:
        _stage_and_apply(conn, path, options, result, sink, reader, meta, extract_id, now, stager)
    finally:
        if conn.in_transaction():
            conn.rollback()
        stager.release()


def _stage_and_apply(
    conn: Connection, path: Path, options: ImportOptions, result: FileResult, sink: RejectSink,
    reader: FeedReader, meta: ExtractMeta, extract_id: int, now: datetime, stager: Stager,
) -> None:
    rules = Rules(today=options.today, min_birth_date=options.min_birth_date)
    watch = registry.SensitiveWatch(stager.encode)
    stager.load(_pause_after_each(validated_batches(reader, sink, rules, watch)))
    row_map = reader.finish(sink)
    sink.row_map = row_map
    stager.index()
    _pause("indexed")
    for row, key, first in stager.remove_duplicates():
        real = row_map(row) if row_map else row
        first_real = row_map(first) if row_map else first
        sink.add_final(real, "source_record_id", key,
                       f"duplicate source_record_id (first seen at row {first_real})")
    _pause("deduped")
    result.rows_read = reader.records
    result.rows_rejected = sink.rows
    result.rows_landed = stager.staged
    if result.rows_read == 0 and meta.extract_type == "full":
        raise FeedRefused(
            f"{path.name}: a full extract with no records would retire every record of "
            f"{meta.source}; refused"
        )
    rate = result.rows_rejected / result.rows_read if result.rows_read else 0.0
    if rate > options.reject_limit:
        raise FeedRefused(
            f"{path.name}: {result.rows_rejected} of {result.rows_read} rows rejected "
            f"({rate:.1%}), over the limit of {options.reject_limit:.1%}: the whole file is "
            "refused and nothing from it was stored (see the reject report)"
        )
    _pause("staged")
    applied = stager.apply(meta.source, extract_id, now, full=meta.extract_type == "full")
    result.rows_retired = applied.retired
    result.new, result.changed, result.unchanged = applied.new, applied.changed, applied.unchanged
    result.deleted, result.unknown_deletes = applied.deleted, applied.unknown_deletes
    stager.refresh_statistics(applied.new + applied.changed + applied.retired + applied.deleted)
    if watch.seen:
        registry.mark_sensitive(conn, meta.source)
    registry.finish_extract(
        conn, extract_id, read=result.rows_read, landed=result.rows_landed,
        rejected=result.rows_rejected, retired=result.rows_retired,
    )
    _pause("finished")
    if sink.lines:
        result.reject_report = sink.write_report(report_path(options.report_dir, path))
    trail.append(
        conn, action=AuditAction.IMPORT, actor=options.actor, organisation=None,
        subject=f"extract:{extract_id}",
        details={"source": meta.source, "extract_type": meta.extract_type,
                 "extract_date": meta.extract_date.isoformat(), "format": result.format,
                 "rows_read": result.rows_read,
                 "rows_landed": result.rows_landed, "rows_rejected": result.rows_rejected,
                 "rows_retired": result.rows_retired},
    )
    _pause("applied")
    conn.commit()
    result.status = "landed"
    result.message = "landed"
