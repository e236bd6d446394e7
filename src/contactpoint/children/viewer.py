"""Who is asking, as the visibility policy sees them."""

from __future__ import annotations

from collections.abc import Callable

from contactpoint.access.models import Organisation, Principal
from contactpoint.domain.visibility import Viewer, ViewerRole

# The seam for the organisation -> feed organisation-code mapping: which codes, as the feeds
# write them on involvements, name the viewer's organisation. Default: its own code.
OrgCodes = Callable[[Organisation], frozenset[str]]


def own_code(org: Organisation) -> frozenset[str]:
    return frozenset({org.code})


def viewer_for(principal: Principal, org_codes: OrgCodes = own_code) -> Viewer:
    if principal.kind == "client":
        role = ViewerRole.CLIENT
    else:
        role = ViewerRole(principal.role.value) if principal.role else ViewerRole.AUDITOR
    return Viewer(role=role, org_codes=org_codes(principal.organisation), actor=principal.actor)
