"""The child view: one child record, through the visibility policy, with anti-browsing.

A view is allowed when the same user ran a search within the window that returned this child
(read from the audit index ``audit_child``), or when the user's organisation has an involvement
with the child. Every other case (an unknown id, a malformed one, a child nobody showed the
user) gets the one and same refusal, so an enumerated id tells nothing. Refusals and views are
both appended to the audit trail; a refusal is committed before it is raised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from contactpoint.access.models import AuditContext, Principal
from contactpoint.audit import trail
from contactpoint.audit.oversight import returned_recently, stated_reason_of
from contactpoint.audit.trail import AuditAction, child_subject
from contactpoint.children.search import stated_reason
from contactpoint.children.viewer import OrgCodes, viewer_for
from contactpoint.domain.identifiers import InvalidIdentifier, parse_child_id
from contactpoint.domain.record import Involvement
from contactpoint.domain.sources import RecordField
from contactpoint.domain.survivorship import FieldProvenance, SurvivedChild
from contactpoint.domain.visibility import Viewer, VisibleChild, disclose, redact
from contactpoint.errors import NotFound
from contactpoint.involvement import orgcodes
from contactpoint.involvement import queries as involvement_queries
from contactpoint.linking import child_records, history
from contactpoint.linking.history import ChildRow

DEFAULT_WINDOW = timedelta(hours=24)
REFUSAL = "no such child, or no search of yours returned this child recently"

# The seam for practitioner-recorded involvements (the involvement register): given the child
# key and the viewer, the involvements recorded for that child, each with "the viewer
# recorded it". Feeds' involvements come from the record itself (survivorship).
ExtraInvolvements = Callable[[Connection, int, Viewer], tuple[tuple[Involvement, bool], ...]]


def no_extra_involvements(
    _conn: Connection, _child_key: int, _viewer: Viewer
) -> tuple[tuple[Involvement, bool], ...]:
    return ()


class ViewRefused(NotFound):
    """The one refusal for every child the viewer may not open (or that does not exist)."""


@dataclass(frozen=True)
class ViewOutcome:
    child: VisibleChild | None  # None: refused (raise :data:`REFUSAL` after committing)
    redirected_from: str | None = None
    reference: int | None = None  # the audit entry of this view (shown), for the pages


def _provenance(prov: dict[RecordField, FieldProvenance]) -> dict[str, object]:
    return {
        fld.value: {"source_code": p.source_code, "source_record_id": p.source_record_id,
                    "extract_date": p.extract_date.isoformat()}
        for fld, p in sorted(prov.items())
    }


@dataclass(frozen=True)
class Reach:
    """Whether ``viewer`` may open the child asked for (anti-browsing), and what was found:
    the id as asked, the resolved child and its record (``None`` when unknown or malformed),
    the practitioner-recorded involvements. Shared by the view and the shield override."""

    asked: str
    well_formed: bool
    row: ChildRow | None
    survived: SurvivedChild | None
    extras: tuple[tuple[Involvement, bool], ...]
    allowed: bool

    @property
    def subject(self) -> str | None:
        return child_subject(self.asked) if self.well_formed else None

    @property
    def refusal_details(self) -> dict[str, object]:
        return {"outcome": "refused", **({} if self.well_formed else {"asked": self.asked[:32]})}

    @property
    def redirected_from(self) -> str | None:
        return self.asked if self.row is not None and self.asked != self.row.child_id else None


def reach(conn: Connection, *, viewer: Viewer, child_id: str, now: datetime,
          window: timedelta = DEFAULT_WINDOW,
          extra: ExtraInvolvements = no_extra_involvements) -> Reach:
    """The anti-browsing rule: a search of the viewer's within ``window`` returned this child,
    or the viewer's organisation has an involvement with it. Reads only; audits nothing."""
    asked = child_id.replace(" ", "")
    try:
        parse_child_id(asked)
        well_formed = True
    except InvalidIdentifier:
        well_formed = False
    survived = row = None
    if well_formed:
        try:
            row = history.resolve_child(conn, asked)
            survived = child_records.load_child_row(conn, row)
        except NotFound:
            row = survived = None
    allowed = False
    extras: tuple[tuple[Involvement, bool], ...] = ()
    if row is not None and survived is not None and viewer.may_view:
        extras = extra(conn, row.key, viewer)  # nosec B610 - a Python callable named extra, not Django
        every = survived.record.involvements + tuple(inv for inv, _ in extras)
        involved = any(inv.org_code in viewer.org_codes for inv in every if inv.org_code)
        involved = involved or any(own for _, own in extras)
        recent = viewer.actor is not None and any(
            returned_recently(conn, cid, viewer.actor, now - window)
            for cid in {asked, row.child_id}
        )
        allowed = involved or recent
    return Reach(asked, well_formed, row, survived, extras, allowed)


def visible(found: Reach, viewer: Viewer, *, override: bool = False) -> VisibleChild:
    """The reached child's record through the visibility policy (``override``: a permitted
    shield override, decided by the caller with ``visibility.override_refusal``)."""
    assert found.survived is not None
    survived = found.survived
    extras = found.extras
    extra_invs = tuple(inv for inv, _ in extras)
    own = frozenset(len(survived.record.involvements) + i
                    for i, (_, mine) in enumerate(extras) if mine)
    decision = disclose(viewer, survived.record, extra_invs, own, override=override)
    return redact(survived.record, decision, _provenance(dict(survived.provenance)),
                  extra_invs)


def view(
    conn: Connection,
    *,
    viewer: Viewer,
    child_id: str,
    reason: str | None,
    ctx: AuditContext,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
    extra: ExtraInvolvements = no_extra_involvements,
) -> ViewOutcome:
    """Open one child record as ``viewer`` may see it; the view (or the refusal) is audited as
    a read (``trail.append_read``: the caller's transaction and the entry are committed when
    this returns). The caller raises :class:`ViewRefused` for a refused outcome."""
    why = stated_reason(reason)
    found = reach(conn, viewer=viewer, child_id=child_id, now=now, window=window, extra=extra)
    # a view reads: its entry (a refusal's too) is committed, with concurrent reads', before
    # this returns, and the caller's transaction with it (ADR 0007)
    if not found.allowed or found.row is None:
        trail.append_read(
            conn, action=AuditAction.CHILD_VIEW, actor=ctx.actor, organisation=ctx.organisation,
            reason=why, request_id=ctx.request_id, subject=found.subject,
            details=found.refusal_details, at=now,
        )
        return ViewOutcome(None)
    shown = visible(found, viewer)
    redirected = found.redirected_from
    entry = trail.append_read(
        conn, action=AuditAction.CHILD_VIEW, actor=ctx.actor, organisation=ctx.organisation,
        reason=why, request_id=ctx.request_id, subject=child_subject(found.row.child_id),
        details={"outcome": "shown", "fields": list(shown.fields_shown),
                 **({"asked": redirected} if redirected else {})},
        children=[found.asked] if redirected else (), at=now,
    )
    return ViewOutcome(shown, redirected, entry.seq)


def registered_involvements(
    conn: Connection, child_key: int, viewer: Viewer
) -> tuple[tuple[Involvement, bool], ...]:
    """The involvement register's involvements with the child (each: did the viewer record
    it), beside the feeds' ones."""
    return involvement_queries.recorded_for(conn, child_key, viewer.actor)


def organisation_codes(conn: Connection) -> OrgCodes:
    """The codes an organisation is known by: its own and its feeds' (``involvement.orgcodes``),
    so that a feed's involvement of the viewer's organisation counts as the viewer's."""
    return lambda org: orgcodes.known_codes(conn, org.code)


def reason_from_reference(conn: Connection, principal: Principal, child_id: str,
                          reference: int, *, now: datetime,
                          window: timedelta = DEFAULT_WINDOW) -> str | None:
    """The reason stated in the person's own recent search that returned the child (or view
    that showed it), audit entry ``reference``: how a page carries the reason from the search
    to the record (and on to the next view) without putting it in a URL."""
    if principal.kind != "user":
        return None
    return stated_reason_of(conn, reference, child_id=child_id.replace(" ", ""),
                            actor=principal.actor, since=now - window)


def open_record(
    conn: Connection,
    principal: Principal,
    child_id: str,
    *,
    reason: str | None,
    ctx: AuditContext,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
    reference: int | None = None,
) -> ViewOutcome:
    """:func:`view` as the JSON API and the pages both open a record: the viewer's
    organisation known by its feed codes too, the register's involvements joined. Without a
    stated ``reason``, the one of the audited search or view ``reference`` (the person's own,
    about this child, within the window) is the reason."""
    if reason is None and reference is not None:
        reason = reason_from_reference(conn, principal, child_id, reference, now=now,
                                       window=window)
    viewer = viewer_for(principal, org_codes=organisation_codes(conn))
    return view(conn, viewer=viewer, child_id=child_id, reason=reason, ctx=ctx, now=now,
                window=window, extra=registered_involvements)


__all__ = ["DEFAULT_WINDOW", "REFUSAL", "ExtraInvolvements", "Reach", "ViewOutcome",
           "ViewRefused", "no_extra_involvements", "open_record", "organisation_codes", "reach",
           "reason_from_reference", "registered_involvements", "view", "visible"]
