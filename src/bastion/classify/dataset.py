"""The labelled text dataset (data/text/*.jsonl, see data/text/README.md) and its splits.

Items are split by template, never by item, so that variants of one idea never sit on both
sides: 60% train, 15% dev, 25% test, by a hash of the template id. The test split is only read
by evaluation, never by training or threshold choice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastion.errors import InvalidInput

PROPAGANDA = "propaganda"
BENIGN_SLICES = (
    "journalism",
    "counter_speech",
    "religious",
    "history_research",
    "fiction_games",
    "everyday",
)
# The TCO Art. 1(3) purpose a benign slice most likely corresponds to.
EXCLUSIONS = {
    "journalism": "journalism",
    "counter_speech": "counter_speech",
    "religious": "religious_practice",
    "history_research": "research_education",
    "fiction_games": "art",
    "everyday": None,
}
FUNCTIONALITY_CATEGORY = {
    "call_to_join": "c",
    "pledge": "c",
    "glorification": "a",
    "grievance_to_arms": "a",
    "spread_media": "a",
    "act_locally": "b",
    "threat": "e",
}


def training_files(folder: Path) -> list[Path]:
    """The files a model is trained (and tested) on: every JSONL except the challenge sets,
    which are kept for evaluation only (HateCheck-style hard cases)."""
    return [p for p in sorted(folder.glob("*.jsonl")) if not p.stem.endswith("-challenge")]


def challenge_files(folder: Path) -> list[Path]:
    """The evaluation-only challenge sets."""
    return sorted(folder.glob("*-challenge.jsonl"))


def split_of(template: str) -> str:
    """train, dev or test, fixed by the template id."""
    bucket = int(hashlib.sha256(template.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "test" if bucket < 25 else ("dev" if bucket < 40 else "train")


@dataclass
class Example:
    """One labelled text."""

    id: str
    lang: str
    label: str
    slice: str
    template: str
    text: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def split(self) -> str:
        """Which split the example belongs to."""
        return split_of(self.template)

    @property
    def target(self) -> str:
        """The class the model learns: propaganda, or the benign slice."""
        return PROPAGANDA if self.label == PROPAGANDA else self.slice


def load_examples(paths: list[Path]) -> list[Example]:
    """Every example in the given JSONL files."""
    out: list[Example] = []
    for path in paths:
        for number, row in _rows(path):
            try:
                out.append(
                    Example(
                        id=str(row["id"]),
                        lang=str(row["lang"]),
                        label=str(row["label"]),
                        slice=str(row["slice"]),
                        template=str(row["template"]),
                        text=str(row["text"]),
                        extra=row,
                    )
                )
            except KeyError as exc:
                raise InvalidInput(f"{path}:{number}: missing field {exc.args[0]!r}.") from None
    return out


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInput(f"{path}:{number}: not UTF-8 (byte {exc.start}).") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (ValueError, RecursionError) as exc:
                raise InvalidInput(f"{path}:{number}: not JSON ({exc}).") from None
            if not isinstance(row, dict):
                raise InvalidInput(f"{path}:{number}: a line is one JSON object.")
            if not isinstance(row.get("text"), str) or not row["text"].strip():
                raise InvalidInput(f"{path}:{number}: `text` must be a non-empty string.")
            yield number, row
