"""The children-missing-education report of one council (its team only), as rows and as CSV;
every run of it is audited. The rule is :mod:`contactpoint.domain.education`."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.audit.trail import AuditAction
from contactpoint.council.common import audit
from contactpoint.council.policy import council_area
from contactpoint.db.tables import child, record_link, source_record
from contactpoint.domain.education import (
    DEFAULT_GRACE_DAYS,
    Setting,
    age_on,
    last_setting,
    missing,
)
from contactpoint.errors import PermissionDenied, ValidationFailed

CSV_COLUMNS = ("child_id", "age", "reason", "last_setting_code", "last_setting_name",
               "last_setting_start", "last_setting_end", "last_setting_source")


@dataclass(frozen=True)
class MissingChild:
    child_id: str
    age: int
    reason: str
    last_setting: Setting | None

    def as_row(self) -> dict[str, Any]:
        s = self.last_setting
        return {"child_id": self.child_id, "age": self.age, "reason": self.reason,
                "last_setting_code": s.org_code if s else None,
                "last_setting_name": s.org_name if s else None,
                "last_setting_start": s.start.isoformat() if s and s.start else None,
                "last_setting_end": s.end.isoformat() if s and s.end else None,
                "last_setting_source": s.source_code if s else None}


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _settings(involvements: Any, source_code: str, withdrawn_on: date | None) -> list[Setting]:
    if involvements is None:
        return []
    if isinstance(involvements, str):
        if "education" not in involvements:
            return []
        involvements = json.loads(involvements)
    out = []
    for item in involvements:
        if isinstance(item, dict) and item.get("service_type") == "education":
            end = _date(item.get("end"))
            if withdrawn_on is not None and (end is None or end > withdrawn_on):
                end = withdrawn_on
            out.append(Setting(item.get("org_code"), item.get("org_name"),
                               _date(item.get("start")), end, source_code))
    return out


def report(conn: Connection, actor: Principal, *, on: date, now: datetime,
           grace_days: int = DEFAULT_GRACE_DAYS, request_id: str | None = None,
           export: bool = False) -> list[MissingChild]:
    """Children of the actor's council missing education on ``on``, with their last known
    setting. Audited (one entry per run, counts only)."""
    area = council_area(actor)
    if area is None or not actor.has(Permission.COUNCIL_CME_REPORT):
        raise PermissionDenied("only a council team runs its children-missing-education report")
    if not 0 <= grace_days <= 365:
        raise ValidationFailed("grace_days must be between 0 and 365")
    s = source_record.c
    rows = conn.execute(
        select(child.c.id, child.c.child_id, s.record_status, s.date_of_birth, s.source_code,
               s.involvements, s.updated_at)
        .join(record_link, record_link.c.child_key == child.c.id)
        .join(source_record, s.id == record_link.c.record_key)
        .where(child.c.owning_la == area, child.c.status == "active")
        .order_by(child.c.id, s.id))
    dobs: dict[int, dict[date, int]] = {}
    ids: dict[int, str] = {}
    settings: dict[int, list[Setting]] = {}
    for key, cid, status, dob, code, inv, updated in rows:
        ids[key] = cid
        withdrawn = None if status == "active" else _date(updated)
        settings.setdefault(key, []).extend(_settings(inv, code, withdrawn))
        if status == "active":
            d = _date(dob)
            if d is not None:
                votes = dobs.setdefault(key, {})
                votes[d] = votes.get(d, 0) + 1
    out = []
    for key, votes in dobs.items():
        dob = max(votes, key=lambda d: (votes[d], d))  # the date most records agree on
        why = missing(dob, settings.get(key, []), on, grace_days)
        if why is not None:
            out.append(MissingChild(ids[key], age_on(dob, on), why.value,
                                    last_setting(settings.get(key, []))))
    out.sort(key=lambda m: m.child_id)
    audit(conn, actor, request_id, AuditAction.CME_REPORT,
          subject=f"council:{area}",
          details={"on": on.isoformat(), "grace_days": grace_days, "children": len(out),
                   "export": export}, at=now)
    return out


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula (feeds name the settings)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(rows: list[MissingChild]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _cell(v) for k, v in r.as_row().items()})
    return buf.getvalue()
