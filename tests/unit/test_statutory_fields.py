"""The index holds the statutory content and nothing more: no case notes, ever."""

from __future__ import annotations

import pytest

import contactpoint.db.all_tables  # noqa: F401
from contactpoint.db.base import metadata
from contactpoint.db.tables import RECORD_TABLES
from contactpoint.domain.record import (
    RECORD_CLASSES,
    STATUTORY_FIELDS,
    record_field_names,
    statutory,
)
from contactpoint.involvement.tables import RECORD_TABLES as INVOLVEMENT_TABLES


@pytest.mark.parametrize("cls", RECORD_CLASSES, ids=lambda c: c.__name__)
def test_record_classes_hold_only_statutory_fields(cls: type) -> None:
    assert record_field_names(cls) <= STATUTORY_FIELDS


@pytest.mark.parametrize("table", RECORD_TABLES + INVOLVEMENT_TABLES, ids=lambda t: t.name)
def test_record_tables_hold_only_statutory_columns(table: object) -> None:
    columns = {c.name for c in table.columns}  # type: ignore[attr-defined]
    assert columns <= STATUTORY_FIELDS, columns - STATUTORY_FIELDS


def test_a_case_notes_field_cannot_be_declared() -> None:
    with pytest.raises(TypeError, match="statutory allow-list"):

        @statutory
        class Sneaky:
            given_name: str
            case_notes: str


def test_no_table_anywhere_has_a_free_text_note_column() -> None:
    suspicious = ("note", "comment", "opinion", "concern", "narrative", "free_text")
    for table in metadata.tables.values():
        for column in table.columns:
            assert not any(word in column.name for word in suspicious), (table.name, column.name)
