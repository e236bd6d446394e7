"""DfE Common Transfer File (CTF) XML, parsed with a hardened, streaming parser.

``defusedxml`` refuses any DTD (so no entity expansion and no external entities) and the
file's size is capped before a byte is parsed; pupils are read one at a time with
``iterparse`` and cleared, so memory stays flat. The header's SourceSchool (URN, or
LEA+Estab) becomes each pupil's education involvement; the source code defaults to
``CTF-<LEA><Estab>``; a pupil's key is the UPN.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import polars as pl
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from contactpoint.errors import FeedRefused
from contactpoint.ingest.columns import IDENTITY_COLUMNS, ROW
from contactpoint.ingest.fhir_map import involvement, without_nulls
from contactpoint.ingest.readers import Hints, ReaderOptions
from contactpoint.ingest.rejects import RejectSink

_GENDER = {"M": "M", "F": "F", "U": "U", "MALE": "M", "FEMALE": "F", "X": "U", "9": "U",
           "1": "M", "2": "F", "0": "U"}
_TRUE = {"TRUE", "Y", "YES", "1"}
_FALSE = {"FALSE", "N", "NO", "0"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(elem: Element, name: str, skip: tuple[str, ...] = ("Contacts", "Address")) -> str | None:
    """Text of the first descendant called ``name``, not looking inside ``skip`` elements."""
    stack = list(elem)
    while stack:
        child = stack.pop(0)
        tag = _local(child.tag)
        if tag == name:
            text = (child.text or "").strip()
            return text or None
        if tag not in skip:
            stack.extend(list(child))
    return None


def _index(elem: Element, skip: tuple[str, ...] = ("Contacts", "Address")) -> dict[str, str]:
    """First non-empty text per local element name, one walk (not inside ``skip``)."""
    found: dict[str, str] = {}
    stack = list(reversed(elem))
    while stack:
        child = stack.pop()
        tag = _local(child.tag)
        if tag in skip:
            continue
        if tag not in found:
            text = (child.text or "").strip()
            if text:
                found[tag] = text
        stack.extend(reversed(child))
    return found


def _child(elem: Element, name: str) -> Element | None:
    for child in elem.iter():
        if child is not elem and _local(child.tag) == name:
            return child
    return None


class CtfFeed:
    format = "ctf"

    def __init__(self, path: Path, options: ReaderOptions, tick: Callable[[int], None]) -> None:
        self.path = path
        self.options = options
        self.tick = tick
        self.records = 0
        self.school: dict[str, str | None] = {}
        self._hints: Hints | None = None

    def _check_size(self) -> int:
        size = self.path.stat().st_size
        if size > self.options.max_xml_bytes:
            raise FeedRefused(
                f"{self.path.name}: {size} bytes is over the XML cap of "
                f"{self.options.max_xml_bytes}; refused before parsing"
            )
        return size

    def _events(self) -> Iterator[tuple[str, Element]]:
        self._check_size()
        with self.path.open("rb") as stream:
            try:
                yield from iterparse(stream, events=("start", "end"), forbid_dtd=True,
                                     forbid_entities=True, forbid_external=True)
            except DefusedXmlException as exc:
                raise FeedRefused(
                    f"{self.path.name}: hostile or unsupported XML refused ({type(exc).__name__}:"
                    " DTDs, entities and external references are not allowed); nothing stored"
                ) from None
            except ParseError as exc:
                raise FeedRefused(
                    f"{self.path.name}: line {exc.position[0]}: not well-formed XML ({exc}); "
                    "the file may be truncated; nothing stored"
                ) from None

    def hints(self) -> Hints:
        if self._hints is not None:
            return self._hints
        root_seen = False
        for event, elem in self._events():
            if event == "start" and not root_seen:
                root_seen = True
                if _local(elem.tag) != "CTfile":
                    raise FeedRefused(
                        f"{self.path.name}: not a Common Transfer File (root element "
                        f"{_local(elem.tag)!r}, expected 'CTfile')"
                    )
            if event == "end" and _local(elem.tag) == "Header":
                self._read_header(elem)
                break
            if event == "start" and _local(elem.tag) == "Pupil":
                break
        if not self.school:
            raise FeedRefused(f"{self.path.name}: CTF has no Header before its pupils")
        lea, estab = self.school.get("LEA"), self.school.get("Estab")
        source = f"CTF-{lea}{estab}" if lea and estab else None
        stamp = self.school.get("DateTime")
        extract_date = None
        if stamp:
            try:
                extract_date = date.fromisoformat(stamp[:10])
            except ValueError:
                extract_date = None
        self._hints = Hints(source=source, extract_date=extract_date)
        return self._hints

    def _read_header(self, header: Element) -> None:
        school = _child(header, "SourceSchool")
        self.school = {"DateTime": _find(header, "DateTime", skip=())}
        if school is not None:
            for name in ("LEA", "Estab", "URN", "SchoolName"):
                self.school[name] = _find(school, name, skip=())

    def _education(self) -> dict[str, Any]:
        lea, estab, urn = self.school.get("LEA"), self.school.get("Estab"), self.school.get("URN")
        code = urn or (f"{lea}{estab}" if lea and estab else None)
        return involvement("education", code, self.school.get("SchoolName"))

    def batches(self, sink: RejectSink) -> Iterator[tuple[pl.DataFrame, bool]]:
        self.hints()
        size = self._check_size()
        rows: list[dict[str, Any]] = []
        stack: list[Element] = []
        education = json.dumps([self._education()], separators=(",", ":"), ensure_ascii=False)
        for event, elem in self._events():
            if event == "start":
                stack.append(elem)
                continue
            stack.pop()
            if _local(elem.tag) != "Pupil":
                continue
            self.records += 1
            row = self._pupil(elem, sink)
            if row is not None:
                row["involvements"] = education
                rows.append(row)
            elem.clear()
            if stack:
                stack[-1].remove(elem)  # keep memory flat: the tree never holds old pupils
            if len(rows) >= self.options.batch_rows:
                yield _frame(rows), False
                rows = []
        self.tick(size)
        if rows:
            yield _frame(rows), False

    def finish(self, sink: RejectSink) -> Callable[[int], int] | None:
        return None  # pupil numbers are exact

    def _pupil(self, pupil: Element, sink: RejectSink) -> dict[str, Any] | None:
        number = self.records
        index = _index(pupil)
        upn = index.get("UPN")
        if not upn:
            sink.add(number, "Pupil.UPN", None, "required: the UPN is the pupil's key")
            return None
        gender = index.get("Gender") or index.get("Sex")
        fields: dict[str, Any] = {
            ROW: number, "source_record_id": upn.upper(), "upn": upn,
            "given_name": index.get("Forename"), "family_name": index.get("Surname"),
            "middle_names": index.get("MiddleNames"),
            "preferred_name": index.get("PreferredForename"),
            "former_family_name": index.get("FormerSurname"),
            "date_of_birth": index.get("DOB"),
            "sex": _GENDER.get(gender.upper(), gender) if gender else None,
        }
        preferred_surname = index.get("PreferredSurname")
        if preferred_surname and fields["family_name"] is None:
            fields["family_name"] = preferred_surname
        address = _child(pupil, "Address")  # the first, at any depth
        if address is not None:
            fields.update(_address(address))
        contacts = _child(pupil, "Contacts")
        carers = []
        if contacts is not None:
            for contact in contacts:
                if _local(contact.tag) != "Contact":
                    continue
                found = _index(contact, skip=())
                name = " ".join(x for x in (found.get("Forename"), found.get("Surname")) if x)
                if not name:
                    continue
                resp = found.get("Responsibility", "").upper()
                carers.append(without_nulls({
                    "name": name, "relationship": found.get("Relationship"),
                    "phone": found.get("PhoneNo"),
                    "parental_responsibility": True if resp in _TRUE
                    else False if resp in _FALSE else None,
                }))
        fields["carers"] = json.dumps(carers, separators=(",", ":"), ensure_ascii=False)
        return fields


def _address(address: Element) -> dict[str, str | None]:
    index = _index(address, skip=())

    def get(name: str) -> str | None:
        return index.get(name)

    lines = [get(f"AddressLine{i}") for i in range(1, 6)]
    if not any(lines):
        paon, street = get("PAON"), get("Street")
        lines = [get("SAON"), " ".join(x for x in (paon, street) if x) or None, get("Locality")]
    present = [x for x in lines if x]
    town = get("Town") or get("PostTown")
    if town is None and len(present) > 3:
        town = present.pop()
    return {
        "address_line_1": present[0] if len(present) > 0 else None,
        "address_line_2": present[1] if len(present) > 1 else None,
        "address_line_3": " ".join(present[2:]) or None,
        "town": town,
        "postcode": get("PostCode") or get("Postcode"),
    }


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {ROW: pl.Int64, **dict.fromkeys(IDENTITY_COLUMNS, pl.String),
              "carers": pl.String, "involvements": pl.String}
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)
