"""Group commit (``audit.group``): items queued during a write are written as one group."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from contactpoint.audit.group import GroupCommit


def test_one_thread_alone_writes_its_item_alone() -> None:
    groups: list[list[int]] = []

    def write(items: Sequence[int]) -> list[int]:
        groups.append(list(items))
        return [i * 10 for i in items]

    committer: GroupCommit[int, int] = GroupCommit()
    assert committer.submit(1, write) == 10
    assert committer.submit(2, write) == 20
    assert groups == [[1], [2]]


def _blocked_first_group(
    committer: GroupCommit[int, int], waiting: int, fail_second: bool = False
) -> tuple[list[list[int]], dict[int, int | BaseException]]:
    """Thread 0 leads and is held inside its write while ``waiting`` more threads queue."""
    groups: list[list[int]] = []
    answers: dict[int, int | BaseException] = {}
    inside, release = threading.Event(), threading.Event()

    def write(items: Sequence[int]) -> list[int]:
        groups.append(list(items))
        if len(groups) == 1:
            inside.set()
            release.wait(10)
        elif fail_second:
            raise ConnectionError("database went away")
        return [i * 10 for i in items]

    def run(item: int) -> None:
        try:
            answers[item] = committer.submit(item, write)
        except BaseException as exc:
            answers[item] = exc

    first = threading.Thread(target=run, args=(0,))
    first.start()
    assert inside.wait(10)
    rest = [threading.Thread(target=run, args=(n,)) for n in range(1, waiting + 1)]
    for t in rest:
        t.start()
    while True:  # every other thread queued behind the leader
        with committer._turn:
            if len(committer._queue) == waiting + 1:
                break
    release.set()
    for t in [first, *rest]:
        t.join(10)
    return groups, answers


def test_items_queued_during_a_write_are_written_together_and_answered_each() -> None:
    groups, answers = _blocked_first_group(GroupCommit(), waiting=7)
    assert groups[0] == [0]
    assert len(groups) == 2
    assert sorted(groups[1]) == list(range(1, 8))
    assert answers == {n: n * 10 for n in range(8)}


def test_a_group_is_no_larger_than_its_limit() -> None:
    groups, answers = _blocked_first_group(GroupCommit(limit=3), waiting=7)
    assert [len(g) for g in groups] == [1, 3, 3, 1]
    assert answers == {n: n * 10 for n in range(8)}


def test_a_failed_write_fails_every_item_of_its_group_and_no_other() -> None:
    groups, answers = _blocked_first_group(GroupCommit(), waiting=4, fail_second=True)
    assert answers[0] == 0
    for n in range(1, 5):
        assert isinstance(answers[n], ConnectionError)
    assert len(groups) == 2


def test_a_write_answering_the_wrong_number_of_results_fails_the_group() -> None:
    committer: GroupCommit[int, int] = GroupCommit()
    with pytest.raises(RuntimeError, match="answered 0 of 1"):
        committer.submit(1, lambda items: [])
    assert committer.submit(2, lambda items: [5]) == 5  # the queue moved on


def test_a_group_holds_at_least_one_item() -> None:
    with pytest.raises(ValueError, match="at least one"):
        GroupCommit(limit=0)
