"""Labels on a bank entry: why the content is in the bank and where the hash came from.

`category` is the point of Article 2(7) of the EU TCO Regulation (2021/784) the material falls
under, the legal basis a removal order or a referral cites. `behaviours` and `entities` are
free tags in the spirit of GIFCT's hash-sharing taxonomy (what the content does, which
terrorist or violent extremist entity produced it); tags are normalised so that the same
label typed twice compares equal.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bastion.errors import InvalidInput

Category = Literal["a", "b", "c", "d", "e"]

# Paraphrases of Regulation (EU) 2021/784, Article 2(7), points (a) to (e).
CATEGORY_DESCRIPTIONS: Mapping[Category, str] = MappingProxyType(
    {
        "a": "Incites terrorist offences, directly or indirectly, e.g. by glorifying attacks",
        "b": "Solicits a person or group to commit or contribute to terrorist offences",
        "c": "Solicits a person or group to participate in the activities of a terrorist group",
        "d": (
            "Instructs on making or using explosives, firearms, other weapons or hazardous "
            "substances, or on other methods, for terrorist offences"
        ),
        "e": "Threatens to commit a terrorist offence",
    }
)

# Words people use for each point, after lower-casing and turning `_`/`-` into spaces.
_CATEGORY_WORDS: Mapping[str, Category] = MappingProxyType(
    {
        "incitement": "a",
        "incite": "a",
        "glorification": "a",
        "solicitation to commit": "b",
        "solicit to commit": "b",
        "solicitation to participate": "c",
        "solicit to participate": "c",
        "recruitment": "c",
        "instruction": "d",
        "instructions": "d",
        "instructional": "d",
        "threat": "e",
        "threats": "e",
    }
)
# "a", "(a)", "2(7)(a)", "2(7)a", "art. 2(7)(a)", "article 2(7)(a)"
_CATEGORY_REFERENCE = re.compile(r"^(?:art(?:icle)?\.?\s*)?(?:2\s*\(\s*7\s*\)\s*)?\(?([a-e])\)?$")

TAG_PATTERN = re.compile(r"^[a-z0-9_.:-]{1,64}$")
MAX_TAGS = 50
MAX_NOTE_LENGTH = 2000


def parse_category(text: str | None) -> Category | None:
    """A TCO Art. 2(7) point from what people type (`a`, `2(7)(a)`, `incitement`); "" is None."""
    if text is None:
        return None
    key = re.sub(r"[\s_-]+", " ", text.strip().lower()).strip()
    if not key:
        return None
    reference = _CATEGORY_REFERENCE.match(key)
    if reference:
        return cast(Category, reference.group(1))  # the pattern only lets a-e through
    if key in _CATEGORY_WORDS:
        return _CATEGORY_WORDS[key]
    raise InvalidInput(
        f"Unknown category {text!r}: use a letter a-e for the points of TCO Regulation "
        "Art. 2(7) (a incitement, b solicitation to commit, c solicitation to participate, "
        "d instruction, e threat).",
        code="unknown_category",
    )


def tag_from_text(text: str) -> str:
    """A tag from a free-text name, such as a group name in a peer's file ("Al-Shabaab")."""
    folded = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    tag = re.sub(r"[^a-z0-9_.:-]+", "_", ascii_text).strip("_")[:64].rstrip("_")
    if not tag:
        raise InvalidInput(
            f"{text!r} cannot be turned into a tag (needs letters a-z or digits).",
            code="invalid_tag",
        )
    return tag


class EntryLabels(BaseModel):
    """Why an entry is in its bank: TCO category, behaviour and entity tags, source, note."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: Category | None = Field(
        default=None, description="Point of TCO Regulation Art. 2(7): a, b, c, d or e."
    )
    behaviours: list[str] = Field(
        default_factory=list, description="What the content does (tags, e.g. recruitment)."
    )
    entities: list[str] = Field(
        default_factory=list, description="Producing entities (tags, e.g. islamic_state)."
    )
    source: str | None = Field(
        default=None, description="Where the hash came from (a tag: gifct, tcap, moderator)."
    )
    note: str | None = Field(
        default=None, max_length=MAX_NOTE_LENGTH, description="Free text for reviewers."
    )

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse_category(value)
            except InvalidInput as exc:
                raise ValueError(exc.message) from None
        return value

    @field_validator("behaviours", "entities")
    @classmethod
    def _tags(cls, values: list[str]) -> list[str]:
        out: list[str] = []
        for value in values:
            tag = _tag(value)
            if tag and tag not in out:
                out.append(tag)
        if len(out) > MAX_TAGS:
            raise ValueError(f"at most {MAX_TAGS} tags")
        return out

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        return (_tag(value) or None) if value is not None else None

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        text = value.strip() if value is not None else ""
        return text or None


def build_labels(**fields: Any) -> EntryLabels:
    """EntryLabels from loosely typed fields, with errors as one InvalidInput naming the field."""
    try:
        return EntryLabels.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"][:1]) or "labels"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"{field}: {message}", code="invalid_labels") from None


def _tag(value: str) -> str:
    tag = value.strip().lower()
    if tag and not TAG_PATTERN.match(tag):
        raise ValueError(
            f"tag {value[:70]!r} must be 1-64 characters of a-z, 0-9, '_', '.', ':' or '-'"
        )
    return tag
