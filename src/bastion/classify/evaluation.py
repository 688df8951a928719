"""Precision, recall and false-positive rate with Wilson 95% intervals, per language and slice."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

Z95 = 1.959964


def wilson(successes: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (0, 0 when total is 0)."""
    if total == 0:
        return (0.0, 0.0)
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Rate:
    """A proportion with its interval."""

    hits: int
    total: int

    @property
    def value(self) -> float:
        """The point estimate."""
        return self.hits / self.total if self.total else 0.0

    def public(self) -> dict[str, Any]:
        """As printed by `bastion eval`."""
        low, high = wilson(self.hits, self.total)
        return {
            "value": round(self.value, 4),
            "ci95": [round(low, 4), round(high, 4)],
            "n": self.total,
        }


def evaluate(rows: list[dict[str, Any]], band: str = "review") -> dict[str, Any]:
    """Metrics of rows with `label`, `lang`, `slice` and `band` (flagged = band at least `band`)."""
    flagged_bands = ("review", "high") if band == "review" else ("high",)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups["all"].append(row)
        groups[f"lang={row['lang']}"].append(row)
        groups[f"slice={row.get('slice', '?')}"].append(row)
        groups[f"lang={row['lang']} slice={row.get('slice', '?')}"].append(row)
    out: dict[str, Any] = {}
    for name, members in sorted(groups.items()):
        positive = [r for r in members if r["label"] == "propaganda"]
        negative = [r for r in members if r["label"] != "propaganda"]
        flagged = [r for r in members if r["band"] in flagged_bands]
        true_positive = sum(1 for r in flagged if r["label"] == "propaganda")
        entry: dict[str, Any] = {}
        if positive:
            entry["recall"] = Rate(true_positive, len(positive)).public()
        if negative:
            false_positive = sum(1 for r in flagged if r["label"] != "propaganda")
            entry["false_positive_rate"] = Rate(false_positive, len(negative)).public()
        if flagged:
            entry["precision"] = Rate(true_positive, len(flagged)).public()
        out[name] = entry
    return out
