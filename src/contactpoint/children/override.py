"""The child-protection shield override (break-glass), one service for every face.

A signed-in person holding ``record:shield:override`` (a per-user grant from their council
team, ``council.grants``; council teams hold it by role), who states a reason and has recently
re-authenticated (the caller's job: the JSON route and the page both demand step-up), sees a
shielded child's record once as if it were not shielded. In the same transaction the override
is audited (``record:shield:override``, with the reason and the fields shown) and an
investigation is opened for the child's responsible council (``council.investigations``).
Nothing is remembered: the next ordinary view is restricted again.

The anti-browsing rule of the view still applies (a recent search of yours returned the
child, or your organisation is involved): an override of any other id, known or not, gets the
view's one refusal, audited, so the override cannot be used to probe ids. A person's refused
attempt (no grant, or a child who is not shielded) is audited too: the caller commits the
outcome and then :func:`shown` raises the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from contactpoint.access.models import AuditContext, Principal
from contactpoint.access.permissions import GrantablePermission, Permission
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction, child_subject
from contactpoint.children.search import stated_reason
from contactpoint.children.view import (
    DEFAULT_WINDOW,
    REFUSAL,
    ExtraInvolvements,
    Reach,
    ViewRefused,
    no_extra_involvements,
    organisation_codes,
    reach,
    registered_involvements,
    visible,
)
from contactpoint.children.viewer import OrgCodes, own_code, viewer_for
from contactpoint.council.grants import has_grant
from contactpoint.council.investigations import Investigation, open_investigation
from contactpoint.domain.visibility import OverrideRefusal, VisibleChild, override_refusal
from contactpoint.errors import Conflict, PermissionDenied


@dataclass(frozen=True)
class OverrideOutcome:
    """``child`` is ``None`` when refused (``refused`` says why; ``None`` there means the view's
    anti-browsing rule): the caller commits, because the refusal is audited, then calls
    :func:`shown`, which raises it."""

    child: VisibleChild | None
    investigation: Investigation | None = None
    redirected_from: str | None = None
    refused: OverrideRefusal | None = None


def shown(outcome: OverrideOutcome) -> tuple[VisibleChild, Investigation]:
    """The record shown and the investigation opened, or the refusal raised: ``Conflict``
    (not shielded), ``PermissionDenied`` (no grant), ``ViewRefused`` (anti-browsing)."""
    if outcome.refused is not None:
        _refuse(outcome.refused)
    if outcome.child is None or outcome.investigation is None:
        raise ViewRefused(REFUSAL)
    return outcome.child, outcome.investigation


def entitled(conn: Connection, principal: Principal) -> bool:
    """Holds ``record:shield:override``: by role, or by an unrevoked per-user grant."""
    return principal.has(Permission.RECORD_SHIELD_OVERRIDE) or has_grant(
        conn, principal, GrantablePermission.RECORD_SHIELD_OVERRIDE)


def _refuse(refusal: OverrideRefusal) -> None:
    if refusal is OverrideRefusal.NOT_SHIELDED:
        raise Conflict(refusal.value)
    raise PermissionDenied(refusal.value)


def _audit_refusal(conn: Connection, ctx: AuditContext, found: Reach, why: str, now: datetime,
                   refusal: OverrideRefusal | None) -> OverrideOutcome:
    details = found.refusal_details
    if refusal is not None:
        details = {**details, "refusal": refusal.name.lower()}
    trail.append(conn, action=AuditAction.SHIELD_OVERRIDE, actor=ctx.actor,
                 organisation=ctx.organisation, reason=why, request_id=ctx.request_id,
                 subject=found.subject, details=details, at=now)
    return OverrideOutcome(None, refused=refusal)


def override_shield(
    conn: Connection,
    principal: Principal,
    child_id: str,
    *,
    reason: str | None,
    now: datetime,
    request_id: str | None = None,
    org_codes: OrgCodes = own_code,
    window: timedelta = DEFAULT_WINDOW,
    extra: ExtraInvolvements = no_extra_involvements,
) -> OverrideOutcome:
    """Show ``principal`` the full record of shielded child ``child_id`` for this one viewing,
    audit it and open the investigation, all in the caller's transaction (``conn``).

    ``org_codes`` and ``extra`` are the view's seams (the organisation's feed codes, the
    involvement register); pass what the view is given. Step-up is the caller's to demand.

    Raises :class:`ReasonRequired` (no reason) and :class:`PermissionDenied` (a machine
    client). Every other refusal is audited and returned with ``child=None``: no
    ``record:shield:override`` by role or unrevoked grant, an id the principal may not open
    (the view's anti-browsing rule; unknown ids alike), a child who is not shielded. Commit,
    then call :func:`shown`.
    """
    why = stated_reason(reason)
    viewer = viewer_for(principal, org_codes)
    person = principal.kind == "user"
    first = override_refusal(viewer, person=person,
                             entitled=person and entitled(conn, principal), shielded=None)
    if first is OverrideRefusal.NOT_A_PERSON:
        _refuse(first)
    found = reach(conn, viewer=viewer, child_id=child_id, now=now, window=window, extra=extra)
    ctx = AuditContext.of(principal, request_id)
    if first is not None:  # no grant: refused the same whether or not the id is a child
        return _audit_refusal(conn, ctx, found, why, now, first)
    if not found.allowed or found.row is None:
        return _audit_refusal(conn, ctx, found, why, now, None)
    refusal = override_refusal(viewer, person=True, entitled=True, shielded=found.row.shielded)
    if refusal is not None:
        return _audit_refusal(conn, ctx, found, why, now, refusal)
    shown = visible(found, viewer, override=True)
    opened = open_investigation(conn, found.row.key, principal, why, now=now,
                                request_id=request_id)
    redirected = found.redirected_from
    trail.append(
        conn, action=AuditAction.SHIELD_OVERRIDE, actor=ctx.actor,
        organisation=ctx.organisation, reason=why, request_id=ctx.request_id,
        subject=child_subject(found.row.child_id),
        details={"outcome": "shown", "fields": list(shown.fields_shown),
                 "investigation": opened.id, **({"asked": redirected} if redirected else {})},
        children=[found.asked] if redirected else (), at=now,
    )
    return OverrideOutcome(shown, opened, redirected)


def override_record(
    conn: Connection,
    principal: Principal,
    child_id: str,
    *,
    reason: str | None,
    now: datetime,
    request_id: str | None = None,
    window: timedelta = DEFAULT_WINDOW,
) -> OverrideOutcome:
    """:func:`override_shield` as the JSON API and the pages both call it, with the view's
    seams as ``view.open_record`` fills them (the organisation's feed codes, the register)."""
    return override_shield(conn, principal, child_id, reason=reason, now=now,
                           request_id=request_id, org_codes=organisation_codes(conn),
                           window=window, extra=registered_involvements)


__all__ = ["OverrideOutcome", "entitled", "override_record", "override_shield", "shown"]
