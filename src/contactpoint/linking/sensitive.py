"""Sources that provide a sensitive service, and the outputs that must not name them.

A source whose records carry a sensitive-service involvement (sexual health, CAMHS and other
mental health, substance misuse) is flagged ``source.sensitive`` by the importer (migration
``0015_involvement`` flagged those already held). Naming such a source beside a child id says
that the child uses that service, which the visibility policy shows only with a recorded
consent basis, and otherwise to council teams only. So ``export links`` and ``review list``
leave those records (and review items touching them) out, and say how many they left out;
``--include-sensitive`` with a stated reason puts them back, and that disclosure is audited.
A neutral code would not do: beside the real codes of every other source, an opaque code
still says "sensitive". ``evaluate`` reads every record internally and prints only figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.db.tables import source
from contactpoint.errors import ReasonRequired
from contactpoint.linking import review
from contactpoint.linking.review import ReviewItem


def sensitive_sources(conn: Connection) -> frozenset[str]:
    return frozenset(conn.execute(select(source.c.code).where(source.c.sensitive)).scalars())


def require_reason(include_sensitive: bool, reason: str | None) -> None:
    if include_sensitive and not (reason and reason.strip()):
        raise ReasonRequired(
            "--include-sensitive names sensitive-service sources beside children: "
            "state why with --reason (it is audited)")


def record_disclosure(conn: Connection, *, what: str, actor: str, reason: str | None,
                      rows: int) -> None:
    """Audit that ``what`` was produced with sensitive-service sources named."""
    require_reason(True, reason)
    trail.append(conn, action=AuditAction.SENSITIVE_DISCLOSE, actor=actor, organisation=None,
                 reason=reason, subject=what, details={"sensitive_rows": rows})


@dataclass(frozen=True)
class ReviewListing:
    items: list[ReviewItem]
    withheld: int  # items left out because a side is a sensitive source's record
    sensitive_shown: int  # items shown that touch a sensitive source (include_sensitive)


def review_items(conn: Connection, *, status: str, limit: int,
                 include_sensitive: bool = False) -> ReviewListing:
    """Up to ``limit`` review items, oldest first, without the items one of whose records
    comes from a sensitive source (unless ``include_sensitive``)."""
    hidden = sensitive_sources(conn)

    def touches(item: ReviewItem) -> bool:
        return item.left.source_code in hidden or item.right.source_code in hidden

    fetch = limit
    while True:
        items = review.list_items(conn, status=status, limit=fetch)
        if include_sensitive:
            return ReviewListing(items, 0, sum(1 for i in items if touches(i)))
        shown = [i for i in items if not touches(i)]
        if len(shown) >= limit or len(items) < fetch:
            kept = shown[:limit]
            last = kept[-1].id if len(shown) >= limit and kept else None
            withheld = sum(1 for i in items if touches(i) and (last is None or i.id < last))
            return ReviewListing(kept, withheld, 0)
        fetch *= 4
