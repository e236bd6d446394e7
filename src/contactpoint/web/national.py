"""The national administrator's page: children no council is responsible for.

The report is ``council.worklist.unallocated`` (which audits the reading), the same service as
``GET /api/national/unallocated-children``; it lists child ids only, never names.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.runtime import request_id, runtime
from contactpoint.council import worklist
from contactpoint.web.guard import Page
from contactpoint.web.templating import render

PATH = "/national/unallocated"
SHOWN = 200  # child ids on the page; the JSON route gives up to 1,000

National = Annotated[Principal, Depends(Page(Permission.NATIONAL_RESPONSIBILITY_REPORT))]
router = APIRouter(include_in_schema=False)


@router.get(PATH)
def unallocated_page(request: Request, principal: National) -> Response:
    rt = runtime(request)
    with rt.transaction() as conn:
        report = worklist.unallocated(conn, principal, now=rt.clock(), limit=SHOWN,
                                      request_id=request_id(request))
    return render(request, "national_unallocated.html",
                  {"title": "Children with no responsible council", "report": report},
                  principal=principal)
