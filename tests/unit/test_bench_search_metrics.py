"""``contactpoint bench search``'s accuracy figures: a twin tied with the child asked for is a
tie (the query cannot tell them apart), never "ranked above"; only a strictly higher
confidence is."""

from __future__ import annotations

import os
from typing import Any

from contactpoint.children.bench import Query, _accuracy

HOME = {"date_of_birth": "2016-05-14", "family_name": "Whitfield", "postcode": "LS6 2AB"}
REF: dict[str, dict[str, Any]] = {"oliver": dict(HOME), "harry": dict(HOME),
                                  "other": {**HOME, "postcode": "M1 1AA"}}
EXPECTED = {"oliver": frozenset({"C-OLIVER"}), "harry": frozenset({"C-HARRY"}),
            "other": frozenset({"C-OTHER"})}
PERSON_OF = {"C-OLIVER": "oliver", "C-HARRY": "harry", "C-OTHER": "other"}


def _run(*results: list[tuple[str, float]],
         expected: dict[str, frozenset[str]] = EXPECTED) -> dict[str, Any]:
    queries = [Query("old_postcode", "oliver", True, {}) for _ in results]
    res = [[{"child_id": c, "confidence": p} for c, p in r] for r in results]
    return _accuracy(queries, res, expected, PERSON_OF, REF)


def test_a_tied_twin_is_a_tie_not_a_confusion() -> None:
    got = _run([("C-HARRY", 0.5), ("C-OLIVER", 0.5)])
    assert (got["twin_confusions"], got["top1_ties"], got["top3"]) == (0, 1, 1.0)


def test_a_twin_with_a_higher_confidence_is_a_confusion_at_any_rank() -> None:
    assert _run([("C-HARRY", 0.7), ("C-OLIVER", 0.2)])["twin_confusions"] == 1
    # below a namesake from elsewhere, still above the child asked for
    assert _run([("C-OTHER", 0.5), ("C-HARRY", 0.3), ("C-OLIVER", 0.1)])["twin_confusions"] == 1
    # the child asked for missing altogether
    assert _run([("C-HARRY", 0.9)])["twin_confusions"] == 1
    # a child from another home above is no twin confusion
    assert _run([("C-OTHER", 0.6), ("C-OLIVER", 0.3)])["twin_confusions"] == 0


def test_a_person_split_evenly_over_two_children_is_found_by_either() -> None:
    split = {**EXPECTED, "oliver": frozenset({"C-OLIVER", "C-OLIVER-2"})}
    got = _run([("C-OLIVER-2", 0.9)], [("C-OTHER", 0.6), ("C-OLIVER", 0.3)], expected=split)
    assert (got["top1"], got["top3"], got["twin_confusions"]) == (0.5, 1.0, 0)


def test_server_cpu_counts_the_worker_processes_too() -> None:
    """``serve`` runs worker processes: the server's CPU is the whole process tree's."""
    import subprocess
    import sys
    import time

    from contactpoint.children.bench import _cpu_seconds

    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass\n" \
           "time.sleep(30)"
    parent = subprocess.Popen(  # a parent that idles while its child burns 0.6 s of CPU
        [sys.executable, "-c", "import subprocess, sys, time\n"
         f"subprocess.Popen([sys.executable, '-c', {burn!r}])\ntime.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        total = 0.0
        while time.monotonic() < deadline:
            total = _cpu_seconds(parent.pid) or 0.0
            if total >= 0.6:
                break
            time.sleep(0.1)
        assert total >= 0.6
    finally:
        for line in subprocess.run(["pgrep", "-P", str(parent.pid)], capture_output=True,
                                   text=True).stdout.split():
            os.kill(int(line), 9)
        parent.kill()
        parent.wait()
