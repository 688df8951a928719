"""Routes that take either a multipart upload or a JSON body read it through here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from bastion.errors import InvalidInput, TooLarge
from bastion.json_input import parse_object

M = TypeVar("M", bound=BaseModel)


@dataclass
class Body:
    """Either the form fields and the file of a multipart body, or a parsed JSON object."""

    json: dict[str, Any] | None = None
    fields: dict[str, str] = field(default_factory=dict)
    file: bytes | None = None
    filename: str | None = None
    media_type: str | None = None


async def read_body(request: Request, limit: int) -> Body:
    """Parse a multipart form (with an optional `file`) or a JSON object."""
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        return await _read_form(request, limit)
    if content_type.startswith("application/json"):
        return Body(json=parse_object(await request.body()))
    raise InvalidInput(
        "Send multipart/form-data (with a `file` field) or application/json; "
        f"got {content_type or 'no Content-Type'}.",
        code="unsupported_content_type",
        status_code=415,
    )


async def _read_form(request: Request, limit: int) -> Body:
    form = await request.form(max_part_size=limit)
    body = Body()
    for key, value in form.multi_items():
        if isinstance(value, str):
            body.fields[key] = value
        elif key == "file":
            if body.file is not None:
                raise InvalidInput("Send one `file` per request.")
            body.file = await _read_file(value, limit)
            body.filename = value.filename
            body.media_type = value.content_type
        else:
            raise InvalidInput(f"Unexpected file field `{key}`; the upload field is `file`.")
    return body


async def _read_file(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"The file is larger than the limit of {limit:,} bytes.")
    if not data:
        raise InvalidInput("The uploaded `file` is empty.", code="empty_file")
    return data


def parse_model(model: type[M], data: dict[str, Any]) -> M:
    """Validate data against a model, turning pydantic errors into one clear 422."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "problem": err["msg"]}
            for err in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        raise InvalidInput(f"Invalid request: {summary}.", details=problems) from exc


async def read_upload_stream(request: Request, limit: int) -> UploadFile:
    """The multipart `file` field as a spooled upload, for readers that stream it."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise InvalidInput(
            "Send the file as multipart/form-data in a field named `file`.",
            code="unsupported_content_type",
            status_code=415,
        )
    form = await request.form(max_part_size=limit)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("Send the file to import as a multipart field named `file`.")
    return upload


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its `$defs` inlined, for hand-written OpenAPI bodies
    (a `#/$defs/...` reference would dangle inside the OpenAPI document)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


FILE_FIELD = {"type": "string", "format": "binary"}


def request_body(
    form_fields: dict[str, Any], *, required: list[str], json_model: type[BaseModel] | None = None
) -> dict[str, Any]:
    """`openapi_extra` for a route that takes a multipart form (and optionally JSON)."""
    content: dict[str, Any] = {
        "multipart/form-data": {
            "schema": {"type": "object", "required": required, "properties": form_fields}
        }
    }
    if json_model is not None:
        content["application/json"] = {"schema": inline_schema(json_model)}
    return {"requestBody": {"required": True, "content": content}}
