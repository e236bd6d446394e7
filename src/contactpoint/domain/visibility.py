"""The visibility policy: who sees which fields of a child record. One function, every face.

:func:`disclose` decides, from the viewer and the child, which record fields are shown and
which involvements; :func:`redact` applies that decision to a child record. The JSON API calls
them now; the web pages and the FHIR facade call the same two functions, so no face can show
more than another. Pure: no database, no framework.

The statutory rules (SI 2007/2182 reg 6, 11; docs/search.md):

* A **shielded** child shows ordinary users only names, gender, date of birth, the child id and
  a way to request contact (the council team brokers it): no address, identifiers, carers,
  education setting, GP or involvements, except the viewer's own organisation's involvement.
  Such a child is found only through those fields (:func:`findable`).
* **Sensitive-service** involvements (sexual health, CAMHS, substance misuse, or flagged
  sensitive) are shown only with a recorded consent basis; without one, only council teams
  (and the organisation providing the service) see them.
* **Council teams** (the local management team, reg 6(4)) see everything, including each
  field's provenance. (Issue 20 narrows this to their own council's children.)
* Roles without the view permission (national administrators, auditors) see nothing.
* A **shield override** (break-glass: a signed-in person holding ``record:shield:override``,
  by role or by a per-user grant, with a reason) shows a shielded child once as if it were not
  shielded (:func:`override_refusal`, ``disclose(..., override=True)``): every other rule,
  sensitive-service consent included, still applies. The next ordinary view is restricted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from contactpoint.domain.record import (
    SENSITIVE_SERVICE_TYPES,
    ChildRecord,
    ConsentBasis,
    Involvement,
)
from contactpoint.domain.search import SHIELD_VISIBLE_CRITERIA, Criterion


class ViewerRole(StrEnum):
    """The roles the policy distinguishes (the values of ``access.permissions.Role``, plus
    machine clients, which act for a practitioner's organisation)."""

    PRACTITIONER = "practitioner"
    COUNCIL_TEAM = "council_team"
    NATIONAL_ADMIN = "national_admin"
    AUDITOR = "auditor"
    CLIENT = "client"


class Shown(StrEnum):
    """Fields of the child view the policy can show."""

    CHILD_ID = "child_id"
    NAMES = "names"
    GENDER = "gender"
    DATE_OF_BIRTH = "date_of_birth"
    SHIELDED = "shielded"
    REQUEST_CONTACT = "request_contact"
    WHEREABOUTS = "whereabouts"
    NHS_NUMBER = "nhs_number"
    UPN = "upn"
    CARERS = "carers"
    EDUCATION_SETTING = "education_setting"
    GP_PRACTICE = "gp_practice"
    INVOLVEMENTS = "involvements"
    PROVENANCE = "provenance"


S = Shown
IDENTITY = frozenset({S.CHILD_ID, S.NAMES, S.GENDER, S.DATE_OF_BIRTH})
SHIELDED_ORDINARY = IDENTITY | {S.SHIELDED, S.REQUEST_CONTACT, S.INVOLVEMENTS}
ORDINARY = IDENTITY | {S.SHIELDED, S.WHEREABOUTS, S.NHS_NUMBER, S.UPN, S.CARERS,
                       S.EDUCATION_SETTING, S.GP_PRACTICE, S.INVOLVEMENTS}
EVERYTHING = frozenset(Shown) - {S.REQUEST_CONTACT}
NOTHING: frozenset[Shown] = frozenset()


@dataclass(frozen=True)
class Viewer:
    role: ViewerRole
    org_codes: frozenset[str] = frozenset()  # codes the viewer's organisation is known by
    actor: str | None = None  # ``user:<name>``: whose own involvements are whose

    @property
    def council_team(self) -> bool:
        return self.role is ViewerRole.COUNCIL_TEAM

    @property
    def may_view(self) -> bool:
        return self.role in (ViewerRole.PRACTITIONER, ViewerRole.COUNCIL_TEAM, ViewerRole.CLIENT)


@dataclass(frozen=True)
class InvolvementFacts:
    """What the policy needs to know about one involvement."""

    sensitive: bool
    consent_recorded: bool
    same_organisation: bool  # the viewer's organisation provides it
    own: bool = False  # the viewer recorded it

    @classmethod
    def of(cls, inv: Involvement, viewer: Viewer, own: bool = False) -> InvolvementFacts:
        return cls(
            sensitive=is_sensitive(inv),
            consent_recorded=inv.consent_basis is not ConsentBasis.NOT_GIVEN,
            same_organisation=inv.org_code is not None and inv.org_code in viewer.org_codes,
            own=own,
        )


def is_sensitive(inv: Involvement) -> bool:
    return inv.sensitive or inv.service_type in SENSITIVE_SERVICE_TYPES


def child_fields(viewer: Viewer, shielded: bool) -> frozenset[Shown]:
    """The record fields ``viewer`` sees of a child (involvements each decided apart)."""
    if not viewer.may_view:
        return NOTHING
    if viewer.council_team:
        return EVERYTHING
    return SHIELDED_ORDINARY if shielded else ORDINARY


def involvement_shown(viewer: Viewer, shielded: bool, facts: InvolvementFacts) -> bool:
    """Whether one involvement (or the education setting / GP) is shown to ``viewer``."""
    if not viewer.may_view:
        return False
    if viewer.council_team or facts.own or facts.same_organisation:
        return True
    if shielded:
        return False
    return not facts.sensitive or facts.consent_recorded


class OverrideRefusal(StrEnum):
    """Why a shield override is refused (the value is what the caller is told)."""

    NOT_A_PERSON = "only a signed-in person may override a shield"
    NO_GRANT = "you do not hold the shield-override permission (granted by your council team)"
    NOT_SHIELDED = "this child is not shielded: no override is needed; open the record as usual"


def override_refusal(viewer: Viewer, *, person: bool, entitled: bool,
                     shielded: bool | None) -> OverrideRefusal | None:
    """May ``viewer`` override a shield? ``person``: a signed-in user (never a machine client);
    ``entitled``: holds ``record:shield:override`` by role or by an unrevoked per-user grant;
    ``shielded``: the child's shield (``None`` while the child is not yet known)."""
    if not person or viewer.role is ViewerRole.CLIENT:
        return OverrideRefusal.NOT_A_PERSON
    if not entitled or not viewer.may_view:
        return OverrideRefusal.NO_GRANT
    if shielded is False:
        return OverrideRefusal.NOT_SHIELDED
    return None


def findable(viewer: Viewer, shielded: bool, used: Iterable[Criterion]) -> bool:
    """May a search made of ``used`` return this child? A shielded child is found only by
    the fields it shows (names, gender, date of birth): a search that used a postcode, town,
    NHS number or UPN must not reveal that the child exists."""
    if not viewer.may_view:
        return False
    if viewer.council_team or not shielded:
        return True
    return set(used) <= SHIELD_VISIBLE_CRITERIA


def result_fields(viewer: Viewer, shielded: bool) -> frozenset[str]:
    """What a search result line may show: names, date of birth, sex, and for a child whose
    whereabouts the viewer may see, town and postcode district. Never more."""
    shown = child_fields(viewer, shielded)
    out = {"child_id"}
    if S.NAMES in shown:
        out |= {"given_name", "family_name"}
    if S.DATE_OF_BIRTH in shown:
        out.add("date_of_birth")
    if S.GENDER in shown:
        out.add("sex")
    if S.WHEREABOUTS in shown:
        out |= {"town", "postcode_district"}
    return frozenset(out)


@dataclass(frozen=True)
class Disclosure:
    """The policy's decision for one child: the fields, and which involvements (by index)."""

    fields: frozenset[Shown]
    involvements: tuple[bool, ...] = ()
    education_setting: bool = False
    gp_practice: bool = False


def disclose(
    viewer: Viewer,
    record: ChildRecord,
    extra_involvements: tuple[Involvement, ...] = (),
    own: frozenset[int] = frozenset(),
    *,
    override: bool = False,
) -> Disclosure:
    """Decide what ``viewer`` sees of ``record``. ``extra_involvements``: involvements recorded
    by practitioners (the involvement register), after the record's own from feeds; ``own``:
    indexes (into record involvements + extra) of those the viewer recorded. ``override``: a
    permitted shield override (:func:`override_refusal` said yes): this one decision treats
    the child as not shielded."""
    shielded = record.shielded and not override
    fields_shown = child_fields(viewer, shielded)
    every = record.involvements + extra_involvements
    decided = tuple(
        S.INVOLVEMENTS in fields_shown and involvement_shown(
            viewer, shielded, InvolvementFacts.of(inv, viewer, own=i in own))
        for i, inv in enumerate(every)
    )

    def single(inv: Involvement | None, fld: Shown) -> bool:
        return inv is not None and fld in fields_shown and involvement_shown(
            viewer, shielded, InvolvementFacts.of(inv, viewer))

    return Disclosure(
        fields=fields_shown,
        involvements=decided,
        education_setting=single(record.education_setting, S.EDUCATION_SETTING),
        gp_practice=single(record.gp_practice, S.GP_PRACTICE),
    )


@dataclass(frozen=True)
class VisibleChild:
    """A child record as one viewer may see it: a hidden field is ``None`` (or empty)."""

    child_id: str | None
    names: object | None = None  # ChildNames
    gender: str | None = None
    date_of_birth: str | None = None
    shielded: bool | None = None
    request_contact: str | None = None
    whereabouts: object | None = None  # Whereabouts
    nhs_number: str | None = None
    upn: str | None = None
    carers: tuple[object, ...] = ()
    education_setting: Involvement | None = None
    gp_practice: Involvement | None = None
    involvements: tuple[Involvement, ...] = ()
    provenance: Mapping[str, object] = field(default_factory=dict)
    fields_shown: tuple[str, ...] = ()


REQUEST_CONTACT_TEXT = (
    "This child's details are shielded. Ask the council team of the child's local authority "
    "to put you in touch with the practitioners working with the child."
)


def redact(
    record: ChildRecord,
    decision: Disclosure,
    provenance: Mapping[str, object] | None = None,
    extra_involvements: tuple[Involvement, ...] = (),
) -> VisibleChild:
    """Apply a :class:`Disclosure` to a record: everything not decided visible is dropped."""
    f = decision.fields
    every = record.involvements + extra_involvements
    involvements = tuple(inv for inv, ok in zip(every, decision.involvements, strict=True) if ok)
    shown: list[str] = sorted(s.value for s in f if s not in (
        S.EDUCATION_SETTING, S.GP_PRACTICE, S.PROVENANCE, S.INVOLVEMENTS))
    if decision.education_setting:
        shown.append(S.EDUCATION_SETTING.value)
    if decision.gp_practice:
        shown.append(S.GP_PRACTICE.value)
    if involvements:
        shown.append(S.INVOLVEMENTS.value)
    show_prov = S.PROVENANCE in f and provenance is not None
    if show_prov:
        shown.append(S.PROVENANCE.value)
    return VisibleChild(
        child_id=record.child_id if S.CHILD_ID in f else None,
        names=record.names if S.NAMES in f else None,
        gender=record.gender.value if S.GENDER in f else None,
        date_of_birth=record.date_of_birth.isoformat() if S.DATE_OF_BIRTH in f else None,
        shielded=record.shielded if S.SHIELDED in f else None,
        request_contact=(REQUEST_CONTACT_TEXT if S.REQUEST_CONTACT in f and record.shielded
                         else None),
        whereabouts=record.whereabouts if S.WHEREABOUTS in f else None,
        nhs_number=record.nhs_number if S.NHS_NUMBER in f else None,
        upn=record.upn if S.UPN in f else None,
        carers=record.carers if S.CARERS in f else (),
        education_setting=record.education_setting if decision.education_setting else None,
        gp_practice=record.gp_practice if decision.gp_practice else None,
        involvements=involvements,
        provenance=dict(provenance or {}) if show_prov else {},
        fields_shown=tuple(sorted(set(shown))),
    )


__all__ = [
    "EVERYTHING", "IDENTITY", "ORDINARY", "REQUEST_CONTACT_TEXT", "SHIELDED_ORDINARY",
    "Disclosure", "InvolvementFacts", "OverrideRefusal", "Shown", "Viewer", "ViewerRole",
    "VisibleChild", "child_fields", "disclose", "findable", "involvement_shown", "is_sensitive",
    "override_refusal", "redact", "result_fields",
]
