"""Items: a platform submits content under its own id and reads the result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bastion.api.body import FILE_FIELD, Body, parse_model, read_body, request_body
from bastion.api.deps import BastionDep, CurrentPrincipal, SessionDep, require
from bastion.auth.permissions import Action
from bastion.auth.tokens import Principal
from bastion.errors import InvalidInput
from bastion.json_input import check_small, parse_object
from bastion.pipeline.intake import Submission, get_item, item_public, submit_item
from bastion.runtime import Bastion

router = APIRouter(prefix="/v1/items", tags=["items"])


class ItemCreate(BaseModel):
    """An item given by URL or as text (files are sent as multipart)."""

    model_config = {"extra": "forbid"}

    external_id: str = Field(min_length=1, max_length=256)
    url: str | None = Field(default=None, max_length=8192)
    text: str | None = Field(
        default=None, max_length=1_048_576, description="A text post (kind `text`)."
    )
    kind: str | None = Field(default=None)
    context: dict[str, Any] = Field(default_factory=dict)


ITEM_BODY = request_body(
    {
        "external_id": {"type": "string"},
        "file": FILE_FIELD,
        "kind": {
            "type": "string",
            "enum": ["image", "file", "text"],
            "description": "text: the file is UTF-8 text",
        },
        "context": {"type": "string", "description": "A JSON object"},
    },
    required=["external_id", "file"],
    json_model=ItemCreate,
)


@router.post(
    "",
    status_code=201,
    summary="Submit an item (file or URL): stored, scanned, matches returned",
    dependencies=[Depends(require(Action.ITEMS_SUBMIT))],
    openapi_extra=ITEM_BODY,
)
async def create_item(
    request: Request,
    response: Response,
    bastion: BastionDep,
    session: SessionDep,
    who: CurrentPrincipal,
) -> dict[str, Any]:
    """Idempotent on (platform, external_id, content): a repeat returns the first result (200)."""
    body = await read_body(request, bastion.settings.max_upload_bytes)
    out, created = await run_in_threadpool(_submit, bastion, session, who, body)
    if not created:
        response.status_code = 200
    return out


def _submit(
    bastion: Bastion, session: Any, who: Principal, body: Body
) -> tuple[dict[str, Any], bool]:
    if body.json is not None:
        spec = parse_model(ItemCreate, body.json)
        if (spec.url is None) == (spec.text is None):
            raise InvalidInput("Send exactly one of `url` or `text` (or a file as multipart).")
        submission = Submission(
            platform=who.platform,
            external_id=spec.external_id,
            kind=spec.kind or ("text" if spec.text is not None else "url"),
            url=spec.url,
            data=spec.text.encode("utf-8", "surrogatepass") if spec.text is not None else None,
            context=spec.context,
        )
    else:
        fields = body.fields
        submission = Submission(
            platform=who.platform,
            external_id=fields.get("external_id", ""),
            kind=fields.get("kind") or None,
            data=body.file,
            url=fields.get("url") or None,
            filename=body.filename,
            media_type=body.media_type,
            context=_context(fields.get("context")),
        )
    if submission.context:
        check_small(submission.context, "`context`", max_bytes=16_384, max_depth=8)
    item, created = submit_item(
        session,
        submission,
        matcher=bastion.matcher,
        media=bastion.media,
        max_pixels=bastion.settings.max_image_pixels,
        max_text_bytes=bastion.settings.max_text_bytes,
        classifier=bastion.classifier,
        text_windows=bastion.settings.text_windows,
    )
    return {**item_public(item), "created": created}, created


def _context(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    return parse_object(raw, "`context`")


@router.get(
    "/{item_id}",
    summary="An item with its signals and matches",
    dependencies=[Depends(require(Action.ITEMS_READ))],
)
def read_item(
    session: SessionDep, who: CurrentPrincipal, item_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> dict[str, Any]:
    """Platform tokens see their own platform's items; admins see all."""
    platform = None if who.role == "admin" else who.platform
    return item_public(get_item(session, item_id, platform=platform))
