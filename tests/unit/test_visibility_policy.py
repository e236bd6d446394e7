"""The visibility policy as a table: role x organisation x shield x sensitive service x consent
basis x the user's own involvement -> what is shown. Every row is written out, not derived."""

from __future__ import annotations

from datetime import date

import pytest

from contactpoint.domain.record import (
    Address,
    Carer,
    ChildNames,
    ChildRecord,
    ConsentBasis,
    Involvement,
    ServiceType,
    Sex,
    Whereabouts,
    WhereaboutsState,
)
from contactpoint.domain.search import Criterion
from contactpoint.domain.visibility import (
    EVERYTHING,
    ORDINARY,
    SHIELDED_ORDINARY,
    InvolvementFacts,
    OverrideRefusal,
    Shown,
    Viewer,
    ViewerRole,
    child_fields,
    disclose,
    findable,
    involvement_shown,
    override_refusal,
    redact,
    result_fields,
)

R = ViewerRole
ORDINARY_ROLES = (R.PRACTITIONER, R.CLIENT)
NO_VIEW_ROLES = (R.NATIONAL_ADMIN, R.AUDITOR)

# (same organisation, shielded, sensitive, consent recorded, own) -> shown to an ordinary user
ORDINARY_INVOLVEMENT_TABLE: dict[tuple[bool, bool, bool, bool, bool], bool] = {
    # same_org shield sensitive consent own
    (False, False, False, False, False): True,
    (False, False, False, False, True): True,
    (False, False, False, True, False): True,
    (False, False, False, True, True): True,
    (False, False, True, False, False): False,  # sensitive, no consent: hidden
    (False, False, True, False, True): True,  # ... unless the viewer recorded it
    (False, False, True, True, False): True,  # consent recorded
    (False, False, True, True, True): True,
    (False, True, False, False, False): False,  # shielded: others' involvements hidden
    (False, True, False, False, True): True,
    (False, True, False, True, False): False,
    (False, True, False, True, True): True,
    (False, True, True, False, False): False,
    (False, True, True, False, True): True,
    (False, True, True, True, False): False,
    (False, True, True, True, True): True,
    (True, False, False, False, False): True,  # the viewer's organisation provides it
    (True, False, False, False, True): True,
    (True, False, False, True, False): True,
    (True, False, False, True, True): True,
    (True, False, True, False, False): True,
    (True, False, True, False, True): True,
    (True, False, True, True, False): True,
    (True, False, True, True, True): True,
    (True, True, False, False, False): True,
    (True, True, False, False, True): True,
    (True, True, False, True, False): True,
    (True, True, False, True, True): True,
    (True, True, True, False, False): True,
    (True, True, True, False, True): True,
    (True, True, True, True, False): True,
    (True, True, True, True, True): True,
}


def _rows() -> list[tuple[ViewerRole, tuple[bool, bool, bool, bool, bool], bool]]:
    rows = []
    for key, ordinary in ORDINARY_INVOLVEMENT_TABLE.items():
        rows += [(role, key, ordinary) for role in ORDINARY_ROLES]
        rows.append((R.COUNCIL_TEAM, key, True))  # council teams see every involvement
        rows += [(role, key, False) for role in NO_VIEW_ROLES]  # no view permission
    return rows


@pytest.mark.parametrize(("role", "key", "shown"), _rows())
def test_involvement_policy_table(
    role: ViewerRole, key: tuple[bool, bool, bool, bool, bool], shown: bool
) -> None:
    same_org, shielded, sensitive, consent, own = key
    facts = InvolvementFacts(sensitive=sensitive, consent_recorded=consent,
                             same_organisation=same_org, own=own)
    assert involvement_shown(Viewer(role), shielded, facts) is shown


# role x shielded -> record fields
FIELD_TABLE: dict[tuple[ViewerRole, bool], frozenset[Shown]] = {
    (R.PRACTITIONER, False): ORDINARY,
    (R.PRACTITIONER, True): SHIELDED_ORDINARY,
    (R.CLIENT, False): ORDINARY,
    (R.CLIENT, True): SHIELDED_ORDINARY,
    (R.COUNCIL_TEAM, False): EVERYTHING,
    (R.COUNCIL_TEAM, True): EVERYTHING,
    (R.NATIONAL_ADMIN, False): frozenset(),
    (R.NATIONAL_ADMIN, True): frozenset(),
    (R.AUDITOR, False): frozenset(),
    (R.AUDITOR, True): frozenset(),
}


@pytest.mark.parametrize(("role", "shielded"), list(FIELD_TABLE))
def test_record_field_table(role: ViewerRole, shielded: bool) -> None:
    assert child_fields(Viewer(role), shielded) == FIELD_TABLE[(role, shielded)]


def test_the_statutory_shielded_set_is_exactly_names_gender_birth_id_and_contact() -> None:
    assert SHIELDED_ORDINARY - {Shown.INVOLVEMENTS} == {
        Shown.CHILD_ID, Shown.NAMES, Shown.GENDER, Shown.DATE_OF_BIRTH, Shown.SHIELDED,
        Shown.REQUEST_CONTACT}
    assert Shown.PROVENANCE in EVERYTHING
    assert Shown.PROVENANCE not in ORDINARY


HIDDEN = (Criterion.POSTCODE, Criterion.TOWN, Criterion.NHS_NUMBER, Criterion.UPN)


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("role", list(ViewerRole))
@pytest.mark.parametrize("shielded", [False, True])
def test_findable_table(role: ViewerRole, shielded: bool, hidden: Criterion) -> None:
    visible = {Criterion.GIVEN_NAME, Criterion.FAMILY_NAME, Criterion.DATE_OF_BIRTH}
    viewer = Viewer(role)
    may_view = role in (R.PRACTITIONER, R.CLIENT, R.COUNCIL_TEAM)
    assert findable(viewer, shielded, visible) is may_view
    expected = may_view and (not shielded or role is R.COUNCIL_TEAM)
    assert findable(viewer, shielded, visible | {hidden}) is expected


def test_result_lines_never_show_more_than_names_birth_sex_and_place() -> None:
    assert result_fields(Viewer(R.PRACTITIONER), True) == {
        "child_id", "given_name", "family_name", "date_of_birth", "sex"}
    assert result_fields(Viewer(R.PRACTITIONER), False) == {
        "child_id", "given_name", "family_name", "date_of_birth", "sex", "town",
        "postcode_district"}
    assert result_fields(Viewer(R.AUDITOR), False) == {"child_id"}


def _record(shielded: bool) -> ChildRecord:
    def inv(kind: ServiceType, org: str, consent: ConsentBasis = ConsentBasis.NOT_GIVEN,
            ) -> Involvement:
        return Involvement(service_type=kind, org_code=org, consent_basis=consent,
                           practitioner_phone="0113 000 0000")

    return ChildRecord(
        child_id="000000001016",
        names=ChildNames(given_name="Ada", family_name="Stone"),
        whereabouts=Whereabouts(WhereaboutsState.CURRENT,
                                Address(lines=("1 Road",), town="Leeds", postcode="LS1 1AA")),
        gender=Sex.FEMALE, date_of_birth=date(2015, 1, 2), nhs_number="9434765919",
        carers=(Carer(name="Bea Stone", phone="07700 900000"),),
        education_setting=inv(ServiceType.EDUCATION, "SCH"),
        gp_practice=inv(ServiceType.PRIMARY_CARE, "GP1"),
        involvements=(inv(ServiceType.EDUCATION, "SCH"), inv(ServiceType.CAMHS, "CAMHS1"),
                      inv(ServiceType.SEXUAL_HEALTH, "SH1", ConsentBasis.CONSENT)),
        shielded=shielded,
    )


def test_redact_applies_the_decision_for_an_ordinary_user() -> None:
    record = _record(False)
    viewer = Viewer(R.PRACTITIONER, frozenset({"OTHER"}))
    extra = (Involvement(service_type=ServiceType.SOCIAL_CARE, org_code="OTHER"),)
    seen = redact(record, disclose(viewer, record, extra), {"name": {}}, extra)
    assert [i.service_type for i in seen.involvements] == [
        ServiceType.EDUCATION, ServiceType.SEXUAL_HEALTH, ServiceType.SOCIAL_CARE]
    assert seen.nhs_number == "9434765919"
    assert seen.carers
    assert seen.gp_practice
    assert seen.provenance == {}
    assert seen.request_contact is None


def test_redact_of_a_shielded_child_keeps_only_the_statutory_fields() -> None:
    record = _record(True)
    seen = redact(record, disclose(Viewer(R.PRACTITIONER), record), {"name": {}})
    assert seen.names is not None
    assert seen.date_of_birth == "2015-01-02"
    assert seen.whereabouts is None
    assert seen.nhs_number is None
    assert seen.carers == ()
    assert seen.education_setting is None
    assert seen.gp_practice is None
    assert seen.involvements == ()
    assert seen.provenance == {}
    assert seen.request_contact
    assert set(seen.fields_shown) == {"child_id", "names", "gender", "date_of_birth",
                                      "shielded", "request_contact"}
    council = redact(record, disclose(Viewer(R.COUNCIL_TEAM), record), {"name": {}})
    assert council.provenance == {"name": {}}
    assert len(council.involvements) == 3
    assert council.request_contact is None


# --- the shield override (break-glass) ------------------------------------------------------


@pytest.mark.parametrize(("role", "person", "entitled", "shielded", "expected"), [
    (R.PRACTITIONER, True, True, True, None),
    (R.PRACTITIONER, True, True, None, None),  # the child not known yet: no answer about it
    (R.COUNCIL_TEAM, True, True, True, None),
    (R.PRACTITIONER, True, False, True, OverrideRefusal.NO_GRANT),
    (R.PRACTITIONER, True, True, False, OverrideRefusal.NOT_SHIELDED),
    (R.PRACTITIONER, True, False, False, OverrideRefusal.NO_GRANT),  # the grant first
    (R.CLIENT, False, True, True, OverrideRefusal.NOT_A_PERSON),
    (R.PRACTITIONER, False, True, True, OverrideRefusal.NOT_A_PERSON),
    (R.AUDITOR, True, True, True, OverrideRefusal.NO_GRANT),  # no view permission at all
    (R.NATIONAL_ADMIN, True, True, True, OverrideRefusal.NO_GRANT),
])
def test_override_refusal_table(role: ViewerRole, person: bool, entitled: bool,
                                shielded: bool | None, expected: OverrideRefusal | None) -> None:
    assert override_refusal(Viewer(role), person=person, entitled=entitled,
                            shielded=shielded) is expected


def test_an_override_shows_the_shielded_child_as_if_unshielded_and_no_more() -> None:
    record = _record(True)
    viewer = Viewer(R.PRACTITIONER, frozenset({"OTHER"}))
    seen = redact(record, disclose(viewer, record, override=True), {"name": {}})
    plain = redact(_record(False), disclose(viewer, _record(False)), {"name": {}})
    assert seen.whereabouts is not None
    assert seen.nhs_number == "9434765919"
    assert seen.carers
    assert seen.gp_practice
    assert seen.education_setting
    assert seen.shielded is True  # still says it is shielded
    assert seen.request_contact is None
    assert seen.provenance == {}  # provenance stays the council team's
    # the consent rule still applies: CAMHS without consent is not shown
    assert [i.service_type for i in seen.involvements] == [
        ServiceType.EDUCATION, ServiceType.SEXUAL_HEALTH]
    assert set(seen.fields_shown) == set(plain.fields_shown)
    # one decision only: the same viewer's next ordinary decision is restricted again
    again = redact(record, disclose(viewer, record), {"name": {}})
    assert again.whereabouts is None
    assert again.nhs_number is None
