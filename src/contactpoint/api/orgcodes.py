"""Organisations' feed codes (JSON), for national administrators: ``/api/admin/orgs/{code}/
feed-codes``. The service (``involvement.orgcodes``) validates and audits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.runtime import audit_context, runtime
from contactpoint.api.security import Require, signed_in
from contactpoint.errors import NotFound
from contactpoint.involvement import orgcodes
from contactpoint.involvement.orgcodes import FeedCode, FeedCodeKind

router = APIRouter(prefix="/api/admin/orgs/{code}/feed-codes", tags=["admin"],
                   dependencies=[Depends(signed_in)])

OrgManager = Annotated[Principal, Depends(Require(Permission.ADMIN_ORG_MANAGE))]


class FeedCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feed_code: str = Field(min_length=1, max_length=64,
                           description="as feeds send it in service_org_code")
    kind: FeedCodeKind = FeedCodeKind.LOCAL


class FeedCodeOut(BaseModel):
    feed_code: str
    kind: str
    organisation: str


def _out(c: FeedCode) -> FeedCodeOut:
    return FeedCodeOut(feed_code=c.feed_code, kind=c.kind.value, organisation=c.org_code)


@router.get("")
def list_feed_codes(code: str, request: Request, actor: OrgManager) -> list[FeedCodeOut]:
    rt = runtime(request)
    with rt.transaction() as conn:
        rt.service(conn).organisation(code)  # 404 for an unknown organisation
        return [_out(c) for c in orgcodes.codes(conn, code)]


@router.post("", status_code=201)
def add_feed_code(code: str, body: FeedCodeIn, request: Request,
                  actor: OrgManager) -> FeedCodeOut:
    rt = runtime(request)
    with rt.transaction() as conn:
        return _out(orgcodes.add(conn, code, body.feed_code, body.kind,
                                 ctx=audit_context(request, actor)))


@router.delete("/{feed_code}", status_code=204)
def remove_feed_code(code: str, feed_code: str, request: Request,
                     actor: OrgManager) -> Response:
    rt = runtime(request)
    with rt.transaction() as conn:
        held = {c.feed_code for c in orgcodes.codes(conn, code)}
        if orgcodes.normalise_feed_code(feed_code) not in held:
            raise NotFound(f"organisation {code!r} has no feed code {feed_code!r}")
        orgcodes.remove(conn, feed_code, ctx=audit_context(request, actor))
    return Response(status_code=204)
