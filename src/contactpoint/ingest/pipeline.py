"""Overlap reading+validation (polars/pyarrow, mostly outside the GIL) with database staging.

A producer thread reads, validates and encodes batches (``encode``: the rows as the database
takes them) into a small bounded queue; the caller's thread writes them. Memory stays bounded
(at most ``depth`` encoded batches wait), and an error on either side stops both: the
producer's exception is re-raised in the caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar, cast

import polars as pl

from contactpoint.ingest.readers import FeedReader
from contactpoint.ingest.rejects import RejectSink
from contactpoint.ingest.validate import Rules, validate_batch

_DONE = object()
T = TypeVar("T")


def validated_batches(
    reader: FeedReader, sink: RejectSink, rules: Rules, encode: Callable[[pl.DataFrame], T],
    depth: int = 2,
) -> Iterator[T]:
    """Good rows of each batch, encoded, in file order; rejects go to ``sink`` (producer-side
    only)."""
    out: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> None:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for frame, flat in reader.batches(sink):
                if stop.is_set():
                    return
                good, rejects = validate_batch(frame, rules, flat_extras=flat)
                sink.add_frame(rejects)
                if good.height:
                    put(encode(good))
        except BaseException as exc:  # handed to the consumer thread, re-raised there
            put(exc)
            return
        put(_DONE)

    worker = threading.Thread(target=produce, name="ingest-validate", daemon=True)
    worker.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield cast(T, item)
    finally:
        stop.set()
        worker.join(timeout=30)

