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
view's one refusal, audited, so the override cannot be used to probe ids.
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
    ExtraInvolvements,
    no_extra_involvements,
    reach,
    visible,
)
from contactpoint.children.viewer import OrgCodes, own_code, viewer_for
from contactpoint.council.grants import has_grant
from contactpoint.council.investigations import Investigation, open_investigation
from contactpoint.domain.visibility import OverrideRefusal, VisibleChild, override_refusal
from contactpoint.errors import Conflict, PermissionDenied


@dataclass(frozen=True)
class OverrideOutcome:
    """``child`` is ``None`` when refused by the anti-browsing rule: the caller commits (the
    refusal is audited) and then raises ``view.ViewRefused(view.REFUSAL)``, as for a view."""

    child: VisibleChild | None
    investigation: Investigation | None = None
    redirected_from: str | None = None


def entitled(conn: Connection, principal: Principal) -> bool:
    """Holds ``record:shield:override``: by role, or by an unrevoked per-user grant."""
    return principal.has(Permission.RECORD_SHIELD_OVERRIDE) or has_grant(
        conn, principal, GrantablePermission.RECORD_SHIELD_OVERRIDE)


def _refuse(refusal: OverrideRefusal) -> None:
    if refusal is OverrideRefusal.NOT_SHIELDED:
        raise Conflict(refusal.value)
    raise PermissionDenied(refusal.value)


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

    Raises :class:`ReasonRequired` (no reason), :class:`PermissionDenied` (a machine client,
    or no ``record:shield:override`` by role or unrevoked grant), :class:`Conflict` (the child
    is not shielded: no override needed). Returns ``child=None`` for an id the principal may
    not open (the view's anti-browsing rule; unknown ids alike): commit, then raise
    ``ViewRefused``.
    """
    why = stated_reason(reason)
    viewer = viewer_for(principal, org_codes)
    person = principal.kind == "user"
    first = override_refusal(viewer, person=person,
                             entitled=person and entitled(conn, principal), shielded=None)
    if first is not None:
        _refuse(first)
    found = reach(conn, viewer=viewer, child_id=child_id, now=now, window=window, extra=extra)
    ctx = AuditContext.of(principal, request_id)
    if not found.allowed or found.row is None:
        trail.append(conn, action=AuditAction.SHIELD_OVERRIDE, actor=ctx.actor,
                     organisation=ctx.organisation, reason=why, request_id=ctx.request_id,
                     subject=found.subject, details=found.refusal_details, at=now)
        return OverrideOutcome(None)
    refusal = override_refusal(viewer, person=True, entitled=True, shielded=found.row.shielded)
    if refusal is not None:
        _refuse(refusal)
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


__all__ = ["OverrideOutcome", "entitled", "override_shield"]
