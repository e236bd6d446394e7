"""A small linked population for the search and child-view tests (never real people).

About 200 ordinary children (one or two source records each) plus named hard cases: twins who
share a home, a nickname, a transliterated forename, a former surname, a shielded child, a
child with sensitive-service involvements. Written straight into the tables and linked by the
real engine with the shipped model.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from contactpoint.db.tables import child, extract, link_queue, record_link, source, source_record
from contactpoint.domain.identifiers import nhs_check_digit, upn_check_letter
from contactpoint.linking import models, service
from contactpoint.matching import engine
from names import FAMILY, GIVEN

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
SCHOOL = "100001"  # the school's organisation code, as the census feed writes it


def nhs(seed: int) -> str:
    for n in itertools.count(seed * 1000 + 400_000_000):
        body = f"{n:09d}"
        check = nhs_check_digit(body)
        if check is not None:
            return body + str(check)
    raise AssertionError


def upn(seed: int) -> str:
    tail = f"{seed:011d}0"
    return upn_check_letter(tail) + tail


@dataclass(frozen=True)
class Person:
    key: str
    given: str
    family: str
    dob: date
    sex: str
    postcode: str
    town: str
    address: str
    nhs: str
    upn: str
    former: str | None = None
    involvements: tuple[dict[str, Any], ...] = ()


def _people() -> list[Person]:
    rng = random.Random(19)
    out: list[Person] = []
    for i in range(200):
        dob = date(2009, 1, 1) + timedelta(days=rng.randrange(5400))
        out.append(Person(
            f"P{i}", rng.choice(GIVEN), rng.choice(FAMILY), dob, rng.choice("MF"),
            f"LS{rng.randrange(10, 29)} {rng.randrange(1, 9)}{rng.choice('ABDEFG')}"
            f"{rng.choice('HJLNPQ')}", "Leeds", f"{rng.randrange(1, 200)} Park Road",
            nhs(i), upn(i),
        ))
    school = {"service_type": "education", "org_code": SCHOOL, "org_name": "Park School"}
    out += [
        Person("TWIN_A", "Oliver", "Whitfield", date(2016, 5, 14), "M", "LS6 2AB", "Leeds",
               "12 Mill Lane", nhs(901), upn(901)),
        Person("TWIN_B", "Harry", "Whitfield", date(2016, 5, 14), "M", "LS6 2AB", "Leeds",
               "12 Mill Lane", nhs(902), upn(902)),
        Person("NICK", "Alexander", "Brennan", date(2014, 2, 3), "M", "LS7 1AA", "Leeds",
               "4 Kirk Road", nhs(903), upn(903)),
        Person("TRANSLIT", "Mohammed", "Rahman", date(2013, 9, 21), "M", "LS8 3BB", "Leeds",
               "9 Chapel Street", nhs(904), upn(904)),
        Person("SHIELDED", "Shauna", "Hidden", date(2015, 7, 7), "F", "LS9 4DD", "Leeds",
               "1 Quiet Close", nhs(905), upn(905)),
        Person("FORMER", "Ruby", "Newman", date(2012, 11, 30), "F", "LS5 3EE", "Leeds",
               "30 Oak Avenue", nhs(906), upn(906), former="Oldman"),
        Person("SWAP", "Evie", "Marsh", date(2015, 3, 8), "F", "LS4 2FF", "Leeds",
               "2 Elm Grove", nhs(907), upn(907)),
        Person("SENSITIVE", "Lucy", "Private", date(2011, 1, 15), "F", "LS3 1GG", "Leeds",
               "7 Birch Walk", nhs(908), upn(908), involvements=(
                   school,
                   {"service_type": "camhs", "org_code": "CAMHS1", "org_name": "CAMHS team",
                    "practitioner_name": "Dr Camhs", "consent_basis": "not_given"},
                   {"service_type": "sexual_health", "org_code": "SH1",
                    "org_name": "Clinic", "consent_basis": "consent"},
               )),
    ]
    return out


PEOPLE = {p.key: p for p in _people()}


def _extract(conn: Connection, code: str) -> int:
    if conn.execute(select(source.c.code).where(source.c.code == code)).first() is None:
        conn.execute(insert(source).values(code=code, recognised=True, registered_at=NOW))
    return int(conn.execute(insert(extract).values(
        source_code=code, file_name=f"{code}.csv", content_hash=f"search-test-{code}",
        format="csv", extract_type="full", extract_date=date(2026, 11, 1), imported_at=NOW,
        rows_read=0, rows_landed=0, rows_rejected=0, rows_retired=0,
    ).returning(extract.c.id)).scalar_one())


def load(conn: Connection) -> dict[str, str]:
    """Write and link the population; shield ``SHIELDED``. Returns person key -> child id."""
    pds, census = _extract(conn, "NHS-PDS"), _extract(conn, "DFE-CENSUS")
    record_of: dict[str, int] = {}
    rows = []
    for i, p in enumerate(PEOPLE.values()):
        both = p.key in {"TWIN_A", "TWIN_B", "SHIELDED", "SENSITIVE", "FORMER"} or i % 2 == 0
        common = {
            "record_status": "active", "date_of_birth": p.dob, "sex": p.sex,
            "address_line_1": p.address, "town": p.town, "postcode": p.postcode,
            "carers": [{"name": f"Kate {p.family}", "relationship": "mother",
                        "phone": "07700 900123"}],
            "updated_at": NOW,
        }
        rows.append({**common, "source_code": "NHS-PDS", "source_record_id": f"N{p.key}",
                     "given_name": p.given, "family_name": p.family,
                     "former_family_name": p.former, "nhs_number": p.nhs,
                     "involvements": [], "first_extract_id": pds, "extract_id": pds,
                     "content_hash": f"N{p.key}"})
        if both:
            family = p.former if p.former else p.family  # the school still has the old name
            rows.append({**common, "source_code": "DFE-CENSUS",
                         "source_record_id": f"D{p.key}", "given_name": p.given,
                         "family_name": family, "upn": p.upn,
                         "involvements": list(p.involvements),
                         "first_extract_id": census, "extract_id": census,
                         "content_hash": f"D{p.key}"})
    for row in rows:
        key = int(conn.execute(insert(source_record).values(**row)
                               .returning(source_record.c.id)).scalar_one())
        conn.execute(insert(link_queue).values(record_key=key))
        if row["source_code"] == "NHS-PDS":
            record_of[row["source_record_id"][1:]] = key
    service.link(conn, models.EngineMatcher(engine.load_model()), now=NOW)
    ids: dict[str, str] = {}
    for person, key in record_of.items():
        ids[person] = str(conn.execute(
            select(child.c.child_id).join(record_link, record_link.c.child_key == child.c.id)
            .where(record_link.c.record_key == key)).scalar_one())
    conn.execute(update(child).where(child.c.child_id == ids["SHIELDED"]).values(shielded=True))
    return ids
