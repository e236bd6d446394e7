"""``GET /health``: up or not, and nothing about data."""

from __future__ import annotations

from fastapi import APIRouter

public_router = APIRouter(tags=["health"])


@public_router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
