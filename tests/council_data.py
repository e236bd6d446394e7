"""Council test data made through the real services: children by a link run over records
written directly (the exact-rule stand-in matcher), a clerical review item on a pair of them,
and the principal of an account (to call a service as that person)."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine

from contactpoint.access.models import Principal
from contactpoint.access.permissions import permissions_for
from contactpoint.access.testing import FakeClock, make_service
from contactpoint.linking import history, review, service
from integration.test_link_service import StandIn, add_extract, add_record
from links import child_of


def linked_children(engine: Engine, now: datetime, workdir: Path, source: str,
                    dobs: list[date], nhs: list[str | None] | None = None,
                    given: str = "Amelia") -> list[tuple[int, str]]:
    """One child per date of birth, from one record of ``source`` each (distinct family
    names), linked: ``[(record key, child id), …]``."""
    numbers = nhs or [None] * len(dobs)
    with engine.begin() as conn:
        keys = []
        for dob, number in zip(dobs, numbers, strict=True):
            e = add_extract(conn, source, on=now.date())
            keys.append(add_record(conn, e, secrets.token_hex(6), given, secrets.token_hex(4),
                                   dob, source_code=source, nhs_number=number))
        service.link(conn, StandIn(), workdir=workdir, now=now)
        found = []
        for key in keys:
            ck = child_of(conn, key)
            assert ck is not None
            found.append((key, history.child_by_key(conn, ck).child_id))
    return found


def review_pair(engine: Engine, now: datetime, workdir: Path, la: str,
                nhs: tuple[str | None, str | None] = (None, None)) -> tuple[int, str, str]:
    """Two children of council ``la`` born the same day and a review item on their records:
    ``(item id, left child id, right child id)``."""
    (kl, cl), (kr, cr) = linked_children(engine, now, workdir, f"LA-CSC-{la}",
                                         [date(2014, 7, 7)] * 2, nhs=list(nhs))
    with engine.begin() as conn:
        review.queue_pairs(conn, pl.DataFrame({
            "record_key_l": [min(kl, kr)], "record_key_r": [max(kl, kr)], "child_key": [None],
            "match_probability": [0.7], "cause": ["clerical_band"]},
            schema_overrides={"child_key": pl.Int64()}), run_id=None, model_version=None,
            now=now)
        item = max(i.id for i in review.list_items(conn, status="open", limit=100000))
    return item, cl, cr


def principal_of(conn: Connection, username: str) -> Principal:
    user = make_service(conn, FakeClock()).user(username)
    return Principal("user", user.id, user.username, user.organisation, user.role,
                     permissions_for(user.role))
