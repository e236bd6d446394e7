"""Group commit: the items that threads submit while a write is going on are written together.

A thread submits an item and waits. The thread at the front of the queue is the leader: it
takes every queued item (up to ``limit``), writes them with its own ``write`` (one transaction,
one commit), hands each waiter its result (or the write's error) and leaves; the next thread at
the front leads the next group. Nobody waits for a timer, and one thread alone writes at once,
as before. No database code here: :mod:`contactpoint.audit.trail` gives the write (ADR 0007).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Waiter(Generic[T, R]):
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """Writes items in groups: :meth:`submit` returns the item's result once its group is
    written (raises the group's error if the write failed: nothing of the group is written)."""

    def __init__(self, limit: int = 64) -> None:
        if limit < 1:
            raise ValueError("a group holds at least one item")
        self._limit = limit
        self._queue: list[_Waiter[T, R]] = []
        self._turn = threading.Condition()

    def submit(self, item: T, write: Callable[[Sequence[T]], Sequence[R]]) -> R:
        """Queue ``item``; if this thread comes to lead a group, ``write`` writes it (the
        group's items in queue order, answering one result per item, in that order)."""
        me: _Waiter[T, R] = _Waiter(item)
        with self._turn:
            self._queue.append(me)
            while not me.done and self._queue[0] is not me:
                self._turn.wait()
            if not me.done:
                group = self._queue[: self._limit]
        if not me.done:
            self._lead(group, write)
        if me.error is not None:
            raise me.error
        return me.result  # type: ignore[return-value]  # set with done, error being None

    def _lead(
        self, group: list[_Waiter[T, R]], write: Callable[[Sequence[T]], Sequence[R]]
    ) -> None:
        results: Sequence[R] = ()
        error: BaseException | None = None
        try:
            results = write([w.item for w in group])
            if len(results) != len(group):
                raise RuntimeError(f"group write answered {len(results)} of {len(group)} items")
        except BaseException as exc:  # handed to every waiter of the group, the leader too
            error = exc
        with self._turn:
            for i, waiter in enumerate(group):
                waiter.error = error
                waiter.result = None if error is not None else results[i]
                waiter.done = True
            del self._queue[: len(group)]
            self._turn.notify_all()
