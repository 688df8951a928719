"""POST /v1/hash: the signals of a file, without matching or storing anything."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile

from bastion.api.deps import BastionDep, require
from bastion.api.uploads import read_upload
from bastion.auth.permissions import Action
from bastion.signals.file_signals import compute_file_signals

router = APIRouter(prefix="/v1", tags=["hashing"])


@router.post(
    "/hash",
    summary="Hash a file: md5 and sha256 of any file, PDQ (with quality) of an image",
    dependencies=[Depends(require(Action.HASH))],
)
def hash_file(bastion: BastionDep, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    """Compute the file's signals; nothing is stored."""
    data = read_upload(file, bastion.settings.max_upload_bytes)
    signals = compute_file_signals(data, max_pixels=bastion.settings.max_image_pixels)
    out = signals.public()
    if signals.pdq is not None:
        pdq = out["pdq"]
        assert isinstance(pdq, dict)
        pdq["matchable"] = signals.pdq.matchable(bastion.settings.pdq_quality_floor)
    return {"signals": out, "size": signals.size}
