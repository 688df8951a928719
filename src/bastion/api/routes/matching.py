"""POST /v1/match: which bank entries does this file, hash or URL match?"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bastion.api.body import FILE_FIELD, Body, parse_model, read_body, request_body
from bastion.api.deps import BastionDep, SessionDep, require
from bastion.auth.permissions import Action
from bastion.errors import InvalidInput
from bastion.signals.file_signals import compute_file_signals
from bastion.text.signals import compute_text_signals

router = APIRouter(prefix="/v1", tags=["matching"])


class ValueQuery(BaseModel):
    """A raw signal to look up: a PDQ/md5/sha256 hex hash or a URL."""

    model_config = {"extra": "forbid"}

    signal_type: str = Field(
        description="pdq, md5, sha256, url, url_md5, url_sha256, text_sha256, text_minhash, "
        "or text (the value is a text, matched exactly and as a near-duplicate)"
    )
    value: str = Field(max_length=1_048_576)
    banks: list[str] | None = Field(default=None, description="Only these banks (default all).")
    quality: int | None = Field(default=None, ge=0, le=100, description="PDQ quality, if known.")


MATCH_BODY = request_body(
    {
        "file": FILE_FIELD,
        "banks": {"type": "string", "description": "Comma-separated bank names"},
    },
    required=["file"],
    json_model=ValueQuery,
)


@router.post(
    "/match",
    summary="Match a file (multipart `file`) or a raw signal (JSON) against the banks",
    dependencies=[Depends(require(Action.MATCH))],
    openapi_extra=MATCH_BODY,
)
async def match(request: Request, bastion: BastionDep, session: SessionDep) -> dict[str, Any]:
    """Return every bank entry the content matches, with its labels and distance."""
    body = await read_body(request, bastion.settings.max_upload_bytes)
    return await run_in_threadpool(_match, bastion, session, body)


def _match(bastion: Any, session: Any, body: Body) -> dict[str, Any]:
    matcher = bastion.matcher
    if body.json is not None:
        query = parse_model(ValueQuery, body.json)
        if query.signal_type.strip().lower() == "text":
            text = compute_text_signals(
                query.value, max_bytes=bastion.settings.max_text_bytes, query=True
            )
            result = matcher.match_text(session, text, query.banks)
            return {
                "signals": {"text_sha256": text.sha256, "chunks": len(text.chunks)},
                **result.public(),
            }
        result = matcher.match_value(
            session, query.signal_type, query.value, query.banks, query.quality
        )
        return result.public()  # type: ignore[no-any-return]
    if body.file is None:
        raise InvalidInput("Send the content as a multipart field named `file`.")
    banks = [b.strip() for b in body.fields.get("banks", "").split(",") if b.strip()] or None
    signals = compute_file_signals(
        body.file, max_pixels=bastion.settings.max_image_pixels, for_lookup=True
    )
    result = matcher.match_file(session, signals, banks)
    return {"signals": signals.public(), **result.public()}
