"""Parsing JSON from users: every way it can be wrong becomes one clear InvalidInput."""

from __future__ import annotations

import json
import math
from typing import Any

from bastion.errors import InvalidInput


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e400 would come back as Infinity, which JSON cannot carry
        raise ValueError(f"{text} is too large for a number")
    return value


def parse_object(raw: str | bytes, what: str = "The body") -> dict[str, Any]:
    """Parse a JSON object; malformed, too deep, NaN/Infinity or not an object is a 422."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        message = f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        raise InvalidInput(message, code="malformed_json") from exc
    except RecursionError as exc:
        raise InvalidInput(f"{what} is nested too deeply.", code="malformed_json") from exc
    except (ValueError, UnicodeDecodeError) as exc:  # over-long integers, NaN, bad bytes
        raise InvalidInput(f"{what} is not valid JSON: {exc}.", code="malformed_json") from exc
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object.", code="malformed_json")
    return value


def check_small(value: dict[str, Any], what: str, *, max_bytes: int, max_depth: int) -> None:
    """Refuse a JSON object that is too big or too deeply nested to store and show."""
    if _depth(value) > max_depth:
        raise InvalidInput(f"{what} is nested more than {max_depth} levels deep.")
    if len(json.dumps(value)) > max_bytes:
        raise InvalidInput(f"{what} is larger than {max_bytes:,} bytes of JSON.")


def _depth(value: Any, level: int = 0) -> int:
    if level > 64:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level
