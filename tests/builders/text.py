"""Generated texts for near-duplicate tests: random sentences over a plain vocabulary."""

from __future__ import annotations

import random

_WORDS = [
    "river",
    "market",
    "winter",
    "garden",
    "station",
    "letter",
    "morning",
    "window",
    "bridge",
    "yellow",
    "quiet",
    "number",
    "careful",
    "travel",
    "summer",
    "orange",
    "kitchen",
    "doctor",
    "island",
    "silver",
    "ladder",
    "pocket",
    "engine",
    "forest",
    "teacher",
    "village",
    "button",
    "cotton",
    "basket",
    "harbor",
    "candle",
    "planet",
    "mirror",
    "thunder",
    "blanket",
    "journey",
    "pepper",
    "violin",
    "anchor",
    "saddle",
    "meadow",
    "lantern",
    "marble",
    "parcel",
    "harvest",
    "compass",
    "feather",
    "glacier",
    "hammer",
    "jacket",
    "kettle",
    "lemon",
    "magnet",
    "needle",
    "orchard",
    "pillow",
    "quarry",
    "ribbon",
    "shovel",
    "tunnel",
    "umbrella",
    "velvet",
    "wagon",
    "yogurt",
    "zipper",
    "bakery",
    "cactus",
    "dolphin",
    "elbow",
    "falcon",
]


def words(seed: int, count: int) -> list[str]:
    """`count` random words, the same for the same seed."""
    rnd = random.Random(seed)
    return [rnd.choice(_WORDS) + str(rnd.randrange(50)) for _ in range(count)]


def text(seed: int, count: int = 60) -> str:
    """A text of `count` words."""
    return " ".join(words(seed, count))


def edited(original: str, share: float, seed: int) -> str:
    """The text with `share` of its words replaced by others."""
    rnd = random.Random(seed)
    tokens = original.split()
    for i in range(len(tokens)):
        if rnd.random() < share:
            tokens[i] = rnd.choice(_WORDS) + "x"
    return " ".join(tokens)
