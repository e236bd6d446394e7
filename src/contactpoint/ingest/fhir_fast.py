"""A fast, sound check for the common shape of a feed's Patient and RelatedPerson resources.

Validating a resource through its ``fhir.resources`` model costs ~0.25 ms (a Python validator
runs for every nested element); a daily delta's NDJSON spent most of its import there. Most
resources a feed sends use a small part of FHIR: plain names, identifiers, a home address, a
GP, a carer's relationship and phone. :func:`conforms` recognises exactly that part with
pydantic-core alone (typed dicts, strict, closed: ~0.02 ms), with checks at least as strict
as the model's (a subset of what the model accepts: never a resource the model would
reject); such a resource is then mapped from its JSON through :class:`View`, which answers
the attribute reads of :mod:`.fhir_map` as the model instance would.

Anything else (another element, a primitive extension ``_x``, an empty or null element, a
partial date, a string that starts with white space, another resource type) is not judged
here: the caller validates it through the model, which gives the reject its path and reason.
``tests/ingest/test_fhir_fast.py`` checks the subset claim and the identical mapping against
the model on mutated resources.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Annotated, Any, Literal, Required, TypeVar

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    with_config,
)
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

T = TypeVar("T")

# The model's own patterns where the model has one (the same pydantic-core regex engine, so
# the same answers); stricter ones where it is loose (``uri``: ``\S*``) or parses (``date``).
String = Annotated[str, StringConstraints(pattern=r"[ \r\n\t\S]+")]
Code = Annotated[str, StringConstraints(pattern=r"^[^\s]+(\s[^\s]+)*$")]
Uri = Annotated[str, StringConstraints(pattern=r"^\S+$")]
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]+$")]


def _real_date(value: str) -> str:
    date.fromisoformat(value)  # a ValueError is a validation error
    return value


FullDate = Annotated[
    str,
    StringConstraints(pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"),
    AfterValidator(_real_date),
]
Many = Annotated[list[T], Field(min_length=1)]  # a repeating element: not empty, no null

# strict: a string is a JSON string, a boolean a JSON boolean (no coercion at all);
# forbid: an element not listed here (an extension, ``_x``, ``fhir_comments``) is not judged
_SHAPE = ConfigDict(extra="forbid", strict=True)


@with_config(_SHAPE)
class Meta(TypedDict, total=False):
    source: Uri


@with_config(_SHAPE)
class Identifier(TypedDict, total=False):
    use: Code
    system: Uri
    value: String


@with_config(_SHAPE)
class HumanName(TypedDict, total=False):
    use: Code
    text: String
    family: String
    given: Many[String]


@with_config(_SHAPE)
class Address(TypedDict, total=False):
    use: Code
    line: Many[String]
    city: String
    postalCode: String


@with_config(_SHAPE)
class Reference(TypedDict, total=False):
    reference: String
    display: String
    identifier: Identifier


@with_config(_SHAPE)
class ContactPoint(TypedDict, total=False):
    system: Code
    value: String
    use: Code


@with_config(_SHAPE)
class Coding(TypedDict, total=False):
    system: Uri
    code: Code
    display: String


@with_config(_SHAPE)
class CodeableConcept(TypedDict, total=False):
    coding: Many[Coding]
    text: String


@with_config(_SHAPE)
class Patient(TypedDict, total=False):
    resourceType: Required[Literal["Patient"]]
    id: Id
    meta: Meta
    identifier: Many[Identifier]
    active: bool
    name: Many[HumanName]
    gender: Code
    birthDate: FullDate
    address: Many[Address]
    telecom: Many[ContactPoint]
    generalPractitioner: Many[Reference]


@with_config(_SHAPE)
class RelatedPerson(TypedDict, total=False):
    resourceType: Required[Literal["RelatedPerson"]]
    id: Id
    meta: Meta
    patient: Required[Reference]
    relationship: Many[CodeableConcept]
    name: Many[HumanName]
    telecom: Many[ContactPoint]


SHAPES: dict[str, type] = {"Patient": Patient, "RelatedPerson": RelatedPerson}


@functools.cache
def _adapter(resource_type: str) -> TypeAdapter[Any]:
    return TypeAdapter(SHAPES[resource_type])


def conforms(resource_type: str, data: dict[str, Any]) -> bool:
    """Whether ``data`` (a ``resource_type`` resource) is in the shape checked here: then its
    model would accept it too. ``False`` says nothing: validate it through the model."""
    if resource_type not in SHAPES:
        return False
    try:
        _adapter(resource_type).validate_python(data)
    except ValidationError:
        return False
    return True


class View:
    """A conforming resource's JSON read as the model instance would be: an element's
    attribute is its value (objects as views, lists of objects as lists of views, a
    ``birthDate`` as a :class:`~datetime.date`), and an absent element is ``None``."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        value = self._data.get(name)
        if type(value) is dict:
            return View(value)
        if type(value) is list and value and type(value[0]) is dict:
            return [View(x) for x in value]
        if name == "birthDate" and value is not None:
            return date.fromisoformat(value)
        return value


__all__ = ["SHAPES", "View", "conforms"]
