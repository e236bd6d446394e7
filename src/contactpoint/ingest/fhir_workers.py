"""Validate and map FHIR resources, one at a time or a chunk of NDJSON lines in a worker process.

:func:`resource_outcome` is the one code path for "validate and map one resource", used by the
serial reader and by the worker processes alike. Its result is a small picklable tuple
(:class:`Rejected`, :class:`PatientPart` or :class:`AttachedPart`); only the reader thread
writes them to the park store and the reject sink, in file order.

The pool uses the ``forkserver`` start method (never ``fork``: the CLI has other threads
running), with this module and the FHIR models preloaded in the server, so that they are
imported once and each worker forks with them. As with any ``spawn``/``forkserver`` pool, a
script run by path that reads NDJSON this way needs the ``if __name__ == "__main__":`` guard
(each worker imports the main module); ``python -m contactpoint`` and the console script do.
"""

from __future__ import annotations

import functools
import io
import json
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from contactpoint.ingest import fhir_fast, fhir_map

ACCEPTED = ("Patient", "RelatedPerson", "EpisodeOfCare", "CareTeam")
WORKERS_ENV = "CONTACTPOINT_INGEST_WORKERS"  # worker processes; 0 or 1 = serial
CHUNK_BYTES = 4 * 1024 * 1024  # a chunk also ends at this many bytes (very long lines)


class Rejected(NamedTuple):
    """A reject line for the record: column, value, reason."""

    column: str
    value: str | None
    reason: str


class PatientPart(NamedTuple):
    """A mapped Patient: its contribution (JSON), Bundle fullUrl and the references to it."""

    part: str
    full_url: str | None
    keys: tuple[str, ...]


class AttachedPart(NamedTuple):
    """A mapped RelatedPerson / EpisodeOfCare / CareTeam and its Patient reference."""

    rtype: str
    ref: str | None
    part: str


Outcome = Rejected | PatientPart | AttachedPart


@functools.cache
def models() -> dict[str, Any]:
    """The ``fhir.resources.R4B`` model of each accepted resource type."""
    from fhir.resources.R4B.careteam import CareTeam
    from fhir.resources.R4B.episodeofcare import EpisodeOfCare
    from fhir.resources.R4B.patient import Patient
    from fhir.resources.R4B.relatedperson import RelatedPerson

    return {"Patient": Patient, "RelatedPerson": RelatedPerson,
            "EpisodeOfCare": EpisodeOfCare, "CareTeam": CareTeam}


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err.get("loc", ()) if x != "__root__")
    return loc, str(err.get("msg", "invalid"))


def resource_outcome(data: dict[str, Any], full_url: str | None) -> Outcome:
    """Validate one resource and map it once (or say why it is rejected). A resource in the
    common shape :mod:`.fhir_fast` proves valid is mapped from its JSON; any other goes
    through its ``fhir.resources`` model, whose first error is the reject's path and reason."""
    rtype = data.get("resourceType")
    if rtype not in ACCEPTED:
        return Rejected("resourceType", str(rtype),
                        f"resource type {rtype} is not accepted in a feed "
                        f"(only {', '.join(ACCEPTED)})")
    try:
        resource = (fhir_fast.View(data) if fhir_fast.conforms(rtype, data)
                    else models()[rtype].model_validate(data))
    except ValidationError as exc:
        loc, msg = _first_error(exc)
        return Rejected(f"{rtype}.{loc}" if loc else rtype, None,
                        f"not a valid FHIR R4 {rtype}: {msg}")
    try:
        return _mapped(rtype, resource, full_url)
    except fhir_map.MappingError as exc:
        return Rejected(exc.path, exc.value, exc.reason)


def _mapped(rtype: str, resource: Any, full_url: str | None) -> Outcome:
    if rtype == "Patient":
        fields = fhir_map.patient_fields(resource)
        part = {"fields": fields, "involvements": fhir_map.gp_involvements(resource)}
        keys = tuple(
            k for k in (full_url, f"Patient/{resource.id}" if resource.id else None) if k
        )
        return PatientPart(json.dumps(part), full_url, keys)
    if rtype == "RelatedPerson":
        part = {"carer": fhir_map.related_carer(resource)}
    elif rtype == "EpisodeOfCare":
        part = {"involvement": fhir_map.episode_involvement(resource)}
    else:
        part = {"involvement": fhir_map.careteam_involvement(resource)}
    return AttachedPart(rtype, fhir_map.patient_reference(rtype, resource), json.dumps(part))


def line_outcome(line: bytes) -> Outcome | None:
    """One NDJSON line: None when blank (not a record), else the resource's outcome."""
    if not line.strip():
        return None
    try:
        data = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Rejected("resource", None, f"not valid JSON ({exc})")
    if not isinstance(data, dict):
        return Rejected("resource", None, "not a JSON object")
    return resource_outcome(data, None)


def chunk_outcomes(first: int, blob: bytes) -> list[tuple[int, Outcome]]:
    """(line number, outcome) of each non-blank line of a chunk whose first line is ``first``.

    Runs in a worker process; ``blob`` is the chunk's lines joined, as read from the file."""
    out = []
    for number, line in enumerate(io.BytesIO(blob), start=first):
        outcome = line_outcome(line)
        if outcome is not None:
            out.append((number, outcome))
    return out


# --- the worker pool ----------------------------------------------------------------------
def worker_count() -> int:
    """``CONTACTPOINT_INGEST_WORKERS`` (0 or 1: serial), else 2 (1 on a one-core machine)."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        try:
            return max(0, int(raw))
        except ValueError:
            raise ValueError(f"{WORKERS_ENV} must be a whole number, not {raw!r}") from None
    return min(2, os.cpu_count() or 1)


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        # Imported once, in the server; every worker forks from it with the models built.
        ctx.set_forkserver_preload([__name__, "fhir.resources.R4B.patient",
                                    "fhir.resources.R4B.relatedperson",
                                    "fhir.resources.R4B.episodeofcare",
                                    "fhir.resources.R4B.careteam"])
        return ctx
    return multiprocessing.get_context("spawn")


def _init_worker() -> None:
    """Leave Ctrl-C to the parent (it shuts the pool down) and exit as soon as it dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:  # the importing process (not the fork server)

        def watch() -> None:
            parent.join()  # returns when the parent's end of the sentinel pipe closes
            os._exit(1)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()


# An NDJSON line is rarely shorter than this: a file smaller than the parallel threshold's
# lines times this is read serially, and its import starts no fork server early.
MIN_LINE_BYTES = 100
SAMPLE_BYTES = 1 << 20  # the head of a larger file, to estimate its lines by


def likely_lines(path: Path, min_lines: int) -> bool:
    """Whether the NDJSON file ``path`` probably holds ``min_lines`` lines or more: too small
    for that many lines of :data:`MIN_LINE_BYTES`, no; else estimated from the mean line length
    of its first :data:`SAMPLE_BYTES` (a daily delta of 15,000 Patients with contained parts
    runs to ~480 bytes a line: 7 MB, yet read serially)."""
    size = path.stat().st_size
    if size < min_lines * MIN_LINE_BYTES:
        return False
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    lines = head.count(b"\n")
    if lines == 0:  # one line longer than the sample: few lines
        return False
    return size * lines >= min_lines * (head.rindex(b"\n") + 1)  # whole lines' mean length


def start_early(paths: Iterable[Path] = (), min_lines: int | None = None) -> None:
    """Start the pool's fork server now, when there will be workers: its imports of the FHIR
    models (~0.4 s) then overlap whatever the caller does before its first NDJSON file, and
    that file's pool starts at once. Nothing to do for ``spawn`` or serial reading, or when
    no NDJSON file among ``paths`` is large enough to be read by workers (``min_lines``:
    the reader's threshold; a fork server started for nothing costs its imports, ~0.5 s of
    CPU taken from the import on two cores)."""
    if min_lines is not None and not any(
        p.suffix.lower() == ".ndjson" and likely_lines(p, min_lines) for p in paths
    ):
        return
    if worker_count() > 1 and _context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def open_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes; the caller shuts it down (in a ``finally``)."""
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=_context(), initializer=_init_worker
    )


def ordered_chunks(
    pool: ProcessPoolExecutor, lines: Iterator[bytes], chunk_lines: int, in_flight: int
) -> Iterator[tuple[int, list[tuple[int, Outcome]]]]:
    """(bytes, outcomes) of each chunk of ``lines`` (numbered from 1), in file order.

    At most ``in_flight`` chunks are submitted and not yet handed back, so memory stays
    bounded whatever the file's size. A worker's exception is raised here (a dead worker as
    ``BrokenProcessPool``)."""
    pending: deque[tuple[int, Future[list[tuple[int, Outcome]]]]] = deque()
    number = 1
    while True:
        chunk: list[bytes] = []
        size = 0
        for line in lines:
            chunk.append(line)
            size += len(line)
            if len(chunk) >= chunk_lines or size >= CHUNK_BYTES:
                break
        if chunk:
            pending.append((size, pool.submit(chunk_outcomes, number, b"".join(chunk))))
            number += len(chunk)
        if pending and (not chunk or len(pending) >= in_flight):
            done_size, future = pending.popleft()
            yield done_size, future.result()
        elif not chunk:
            return
