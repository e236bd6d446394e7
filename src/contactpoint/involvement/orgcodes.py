"""Which organisation a feed's ``service_org_code`` stands for.

Feeds name the providing organisation by its URN (schools), ODS code (health), LA code or a
local code; users belong to organisations registered in the index. Only an explicit mapping
makes a feed-derived involvement count as an involvement of an organisation: an
organisation's own code is never matched against feed codes by coincidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, delete, insert, select

from contactpoint.access.models import AuditContext
from contactpoint.access.tables import organisation
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.db.base import utcnow
from contactpoint.errors import Conflict, NotFound, ValidationFailed
from contactpoint.involvement.tables import organisation_code

_FEED_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")


class FeedCodeKind(StrEnum):
    URN = "urn"
    ODS = "ods"
    LA = "la"
    LOCAL = "local"


@dataclass(frozen=True)
class FeedCode:
    feed_code: str
    org_code: str
    kind: FeedCodeKind


def normalise_feed_code(value: str) -> str:
    """Feeds differ in case and padding, never in meaning: ``ods rr8 `` is ``ODS RR8``."""
    return " ".join(value.split()).upper()


def add(conn: Connection, org_code: str, feed_code: str, kind: FeedCodeKind,
        *, ctx: AuditContext) -> FeedCode:
    """Map ``feed_code`` to the organisation ``org_code`` (audited)."""
    code = normalise_feed_code(feed_code)
    if not _FEED_CODE.match(code):
        raise ValidationFailed(
            "a feed code is 1-64 letters, digits, spaces or . _ - (as the feed sends it)")
    if conn.execute(select(organisation.c.id).where(organisation.c.code == org_code)
                    ).first() is None:
        raise NotFound(f"no organisation {org_code!r}")
    held = conn.execute(select(organisation_code.c.org_code)
                        .where(organisation_code.c.feed_code == code)).scalar()
    if held is not None:
        raise Conflict(f"feed code {code!r} already belongs to organisation {held!r}")
    conn.execute(insert(organisation_code).values(
        feed_code=code, org_code=org_code, kind=FeedCodeKind(kind).value, created_at=utcnow()))
    trail.append(conn, action=AuditAction.ORG_CODE_ADD, actor=ctx.actor,
                 organisation=ctx.organisation, request_id=ctx.request_id,
                 subject=f"org:{org_code}", details={"feed_code": code, "kind": str(kind)})
    return FeedCode(code, org_code, FeedCodeKind(kind))


def remove(conn: Connection, feed_code: str, *, ctx: AuditContext) -> FeedCode:
    code = normalise_feed_code(feed_code)
    row = conn.execute(select(organisation_code).where(organisation_code.c.feed_code == code)
                       ).first()
    if row is None:
        raise NotFound(f"no feed code {code!r}")
    conn.execute(delete(organisation_code).where(organisation_code.c.feed_code == code))
    trail.append(conn, action=AuditAction.ORG_CODE_REMOVE, actor=ctx.actor,
                 organisation=ctx.organisation, request_id=ctx.request_id,
                 subject=f"org:{row.org_code}", details={"feed_code": code})
    return FeedCode(code, row.org_code, FeedCodeKind(row.kind))


def codes(conn: Connection, org_code: str | None = None) -> list[FeedCode]:
    """Every mapping (of one organisation), by organisation then feed code."""
    stmt = select(organisation_code).order_by(organisation_code.c.org_code,
                                              organisation_code.c.feed_code)
    if org_code is not None:
        stmt = stmt.where(organisation_code.c.org_code == org_code)
    return [FeedCode(r.feed_code, r.org_code, FeedCodeKind(r.kind))
            for r in conn.execute(stmt).all()]


def feed_codes_of(conn: Connection, org_code: str) -> frozenset[str]:
    return frozenset(conn.execute(select(organisation_code.c.feed_code)
                                  .where(organisation_code.c.org_code == org_code)).scalars())


def known_codes(conn: Connection, org_code: str) -> frozenset[str]:
    """Every code the organisation is known by on an involvement: its own (on the ones its
    practitioners record) and its mapped feed codes (normalised: compare a feed's code after
    :func:`normalise_feed_code`)."""
    return frozenset({org_code}) | feed_codes_of(conn, org_code)


def organisations_of(conn: Connection, feed_codes: set[str]) -> dict[str, str]:
    """``{normalised feed code: organisation code}`` for the mapped ones among ``feed_codes``."""
    wanted = {normalise_feed_code(c) for c in feed_codes if c}
    if not wanted:
        return {}
    return {r.feed_code: r.org_code for r in conn.execute(
        select(organisation_code.c.feed_code, organisation_code.c.org_code)
        .where(organisation_code.c.feed_code.in_(sorted(wanted)))).all()}
