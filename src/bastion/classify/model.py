"""The shipped text model: a multinomial logistic regression over hashed lexical features and
a sentence embedding, Platt-calibrated, with per-language band thresholds, a category head and
the labelled examples used to explain a score; and, optionally, a second stage (`Context`): an
attention head over mE5-small's token states for the texts the first stage does not clear.
Stored as one .npz inside the package; a model retrained with a platform's own decisions
(`bastion train`) is the same kind of file."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bastion.classify.context_head import PARAMETERS, as_arrays, problem
from bastion.classify.features import SIZE, features
from bastion.errors import InvalidInput
from bastion.settings import REVIEW_RECALLS

F32 = NDArray[np.float32]
# The shipped model's version, which also names its file (model/<version>.npz).
SHIPPED_VERSION = "tvec-v3"
MODEL_PATH = Path(__file__).parent / "model" / f"{SHIPPED_VERSION}.npz"
EMBEDDING_DIM = 512  # multilingual USE
# Where the review band starts, as the share of the training pool's propaganda kept out of
# fold. Only points stricter than the default are offered: the second stage's gate was set
# below the default review threshold, so it stays valid for higher ones.
DEFAULT_REVIEW_RECALL, *_stricter = REVIEW_RECALLS
STRICTER_REVIEW_RECALLS = tuple(_stricter)
# A review threshold per language ("*" for the rest), by operating point ("0.90").
ReviewPoints = dict[str, dict[str, float]]


def log_odds(probability: Any) -> Any:
    """log(p / (1 - p)), with p kept 1e-6 away from 0 and 1."""
    clipped = np.clip(probability, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


def platt_scaled(log_odds: Any, calibration: tuple[float, float]) -> Any:
    """sigmoid(a * log_odds + b): a Platt calibration applied."""
    a, b = calibration
    return 1.0 / (1.0 + np.exp(-(a * log_odds + b)))


@dataclass(frozen=True)
class Thresholds:
    """Calibrated scores at which a text enters the review and the high band."""

    review: float
    high: float


@dataclass
class Context:
    """The second stage: texts whose first-stage log-odds reach `gate` are read again by an
    attention head over mE5-small token states; their score is the calibrated mean of both
    stages' log-odds, banded by this stage's own thresholds."""

    heads: dict[str, F32]  # context_head.PARAMETERS, stacked by training seed
    layers: int
    gate: float  # first-stage log-odds below which the second stage cannot change the band
    calibration: tuple[float, float]
    thresholds: dict[str, Thresholds]
    review_points: ReviewPoints = field(default_factory=dict)

    def calibrated(self, mean_log_odds: NDArray[np.float64]) -> F32:
        """Calibrated probability of propaganda from the mean log-odds of both stages."""
        return np.asarray(platt_scaled(mean_log_odds, self.calibration), dtype=np.float32)


@dataclass
class TextModel:
    """Everything the classifier needs at run time; see `training.py` for how it is made."""

    version: str
    classes: list[str]
    weights: F32  # (SIZE + 512, classes)
    bias: F32
    embedding_scale: float
    calibration: tuple[float, float]
    thresholds: dict[str, Thresholds]  # by language; "*" for the rest
    category_classes: list[str]
    category_weights: F32  # (512, categories)
    category_bias: F32
    neighbours: NDArray[np.float16]  # (n, 512) unit vectors
    neighbour_meta: list[dict[str, Any]]
    metrics: dict[str, Any]
    context: Context | None = None
    review_points: ReviewPoints = field(default_factory=dict)
    # The point its thresholds are at (not saved: a file's are at the default).
    review_recall: str = f"{DEFAULT_REVIEW_RECALL:.2f}"

    @property
    def propaganda(self) -> int:
        """Column of the propaganda class."""
        return self.classes.index("propaganda")

    def class_probabilities(self, normals: list[str], embeddings: F32) -> F32:
        """(n, classes) probabilities."""
        lexical = np.zeros((len(normals), len(self.classes)), dtype=np.float32)
        for row, normal in enumerate(normals):
            indices, values = features(normal)
            if len(indices):
                lexical[row] = values @ self.weights[indices]
        semantic = (embeddings * self.embedding_scale) @ self.weights[SIZE:]
        logits = lexical + semantic + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        return np.asarray(odds / odds.sum(axis=1, keepdims=True), dtype=np.float32)

    def calibrated(self, raw: F32) -> F32:
        """Calibrated probability of propaganda from the model's raw probability."""
        return np.asarray(platt_scaled(log_odds(raw), self.calibration), dtype=np.float32)

    def category(self, embeddings: F32) -> list[str]:
        """The likeliest TCO Art. 2(7) category of each text, were it propaganda."""
        scores = embeddings @ self.category_weights + self.category_bias
        return [self.category_classes[i] for i in scores.argmax(axis=1)]

    def save(self, path: Path) -> None:
        """Write the model as one compressed .npz."""
        context: dict[str, Any] = {}
        if self.context is not None:
            context = {f"ctx_{k}": v for k, v in self.context.heads.items()}
        meta = {
            "version": self.version,
            "classes": self.classes,
            "embedding_scale": self.embedding_scale,
            "calibration": list(self.calibration),
            "thresholds": {k: [v.review, v.high] for k, v in self.thresholds.items()},
            "category_classes": self.category_classes,
            "neighbour_meta": self.neighbour_meta,
            "metrics": self.metrics,
            "review_points": self.review_points,
            "context": None
            if self.context is None
            else {
                "layers": self.context.layers,
                "gate": self.context.gate,
                "calibration": list(self.context.calibration),
                "thresholds": {k: [v.review, v.high] for k, v in self.context.thresholds.items()},
                "review_points": self.context.review_points,
            },
        }
        np.savez_compressed(
            path,
            meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), np.uint8),
            weights=self.weights.astype(np.float16),
            bias=self.bias,
            category_weights=self.category_weights,
            category_bias=self.category_bias,
            neighbours=self.neighbours.astype(np.float16),
            **context,
        )


def read_model(path: Path) -> TextModel:
    """Load a model file; a missing or foreign file is refused with what to fix."""
    try:
        with np.load(path) as data:
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
            model = TextModel(
                version=meta["version"],
                classes=meta["classes"],
                weights=data["weights"].astype(np.float32),
                bias=data["bias"].astype(np.float32),
                embedding_scale=float(meta["embedding_scale"]),
                calibration=(float(meta["calibration"][0]), float(meta["calibration"][1])),
                thresholds={k: Thresholds(*v) for k, v in meta["thresholds"].items()},
                category_classes=meta["category_classes"],
                category_weights=data["category_weights"].astype(np.float32),
                category_bias=data["category_bias"].astype(np.float32),
                neighbours=data["neighbours"],
                neighbour_meta=meta["neighbour_meta"],
                metrics=meta.get("metrics", {}),
                context=_read_context(meta.get("context"), data),
                review_points=_points(meta.get("review_points")),
            )
    except OSError as exc:
        raise InvalidInput(
            f"Cannot read the text model {path}: {exc.strerror or exc}.", code="bad_model"
        ) from None
    except (KeyError, ValueError, TypeError, AttributeError, EOFError, zipfile.BadZipFile):
        raise InvalidInput(
            f"{path} is not a Bastion text model; make one with `bastion train`.",
            code="bad_model",
        ) from None
    problem = _inconsistency(model)
    if problem:
        raise InvalidInput(
            f"{path} is not a usable Bastion text model ({problem}); make one with "
            "`bastion train`.",
            code="bad_model",
        )
    return model


def _read_context(meta: dict[str, Any] | None, data: Any) -> Context | None:
    if meta is None:
        return None
    heads = as_arrays({name: data[f"ctx_{name}"] for name in PARAMETERS})
    return Context(
        heads=heads,
        layers=int(meta["layers"]),
        gate=float(meta["gate"]),
        calibration=(float(meta["calibration"][0]), float(meta["calibration"][1])),
        thresholds={k: Thresholds(*v) for k, v in meta["thresholds"].items()},
        review_points=_points(meta.get("review_points")),
    )


def _points(stored: Any) -> ReviewPoints:
    # Models trained before operating points were stored have none: only the default works.
    if stored is None:
        return {}
    return {
        point_name(float(point)): {str(lang): float(value) for lang, value in table.items()}
        for point, table in stored.items()
    }


def _points_problem(
    points: ReviewPoints, thresholds: dict[str, Thresholds], stage: str
) -> str | None:
    for point, table in points.items():
        if "*" not in table:
            return f"{stage} operating point {point} has no default threshold"
        if not all(0 <= value <= 1 for value in table.values()):
            return f"{stage} operating point {point} has a threshold outside 0-1"
        # A stricter point below the default would also undercut the second stage's gate.
        for lang, limits in thresholds.items():
            if table.get(lang, table["*"]) < limits.review - 1e-9:
                return f"{stage} operating point {point} is below the default for {lang}"
    return None


def _inconsistency(model: TextModel) -> str | None:
    """What does not fit together in a loaded model, or None."""
    classes, categories = len(model.classes), len(model.category_classes)
    expected = {
        "weights": (model.weights.shape, (SIZE + EMBEDDING_DIM, classes)),
        "bias": (model.bias.shape, (classes,)),
        "category_weights": (model.category_weights.shape, (EMBEDDING_DIM, categories)),
        "category_bias": (model.category_bias.shape, (categories,)),
        "neighbours": (model.neighbours.shape, (len(model.neighbour_meta), EMBEDDING_DIM)),
    }
    for name, (found, wanted) in expected.items():
        if tuple(found) != wanted:
            return f"{name} has shape {tuple(found)}, expected {wanted}"
    if "propaganda" not in model.classes:
        return "no propaganda class"
    if "*" not in model.thresholds:
        return "no default thresholds"
    if not np.isfinite(model.calibration).all():
        return "the calibration is not a number"
    for lang, limits in model.thresholds.items():
        if not 0 <= limits.review <= limits.high <= 1:
            return f"the thresholds for {lang} are not 0 <= review <= high <= 1"
    points = _points_problem(model.review_points, model.thresholds, "the first stage's")
    if points:
        return points
    if model.context is not None:
        return _context_problem(model.context, classes)
    return None


def _context_problem(context: Context, classes: int) -> str | None:
    found = problem(context.heads, classes)
    if found:
        return found
    if not 1 <= context.layers <= 12:
        return f"the context stage reads layer {context.layers}; mE5-small has 1 to 12"
    if not all(np.isfinite([context.gate, *context.calibration])):
        return "the context stage's gate or calibration is not a number"
    if "*" not in context.thresholds:
        return "no default thresholds for the context stage"
    for lang, limits in context.thresholds.items():
        if not 0 <= limits.review <= limits.high <= 1:
            return f"the context stage's thresholds for {lang} are not 0 <= review <= high <= 1"
    return _points_problem(context.review_points, context.thresholds, "the context stage's")


@lru_cache(maxsize=1)
def shipped_model() -> TextModel:
    """The model that ships with Bastion (loaded once)."""
    return read_model(MODEL_PATH)


def model_at(path: Path | None, recall: float) -> TextModel:
    """The model in `path` (else the shipped one) with its review band at `recall`."""
    model = read_model(path) if path is not None else shipped_model()
    return at_review_recall(model, recall)


def point_name(recall: float) -> str:
    """How an operating point is keyed in a model file: 0.9 -> "0.90"."""
    return f"{recall:.2f}"


def at_review_recall(model: TextModel, recall: float) -> TextModel:
    """The model with its review band moved to another stored operating point (the share of
    the training pool's propaganda that review keeps out of fold); the default returns it as
    it is. A model without that point is refused with the points it has."""
    key = point_name(recall)
    if key == model.review_recall:
        return model
    if model.review_recall != point_name(DEFAULT_REVIEW_RECALL):
        raise ValueError("move the model as read from its file, not an already moved copy")
    stages = [model.review_points] + ([model.context.review_points] if model.context else [])
    if not all(key in points for points in stages):
        offered = [point_name(DEFAULT_REVIEW_RECALL)]
        offered += sorted(set.intersection(*(set(points) for points in stages)), reverse=True)
        raise InvalidInput(
            f"The text model {model.version} has no review operating point {key}; it has "
            f"{', '.join(offered)}. Set BASTION_TEXT_REVIEW_RECALL (or --review-recall) to one "
            "of them, or retrain with `bastion train`.",
            code="bad_review_recall",
        )
    # The point goes into the version, so every stored score says where its band was cut.
    moved = replace(
        model,
        version=f"{model.version}, review at {key}",
        thresholds=_moved(model.thresholds, model.review_points[key]),
        review_recall=key,
    )
    if model.context is not None:
        context = model.context
        moved.context = replace(
            context, thresholds=_moved(context.thresholds, context.review_points[key])
        )
    return moved


def _moved(thresholds: dict[str, Thresholds], reviews: dict[str, float]) -> dict[str, Thresholds]:
    moved = {}
    for lang, limits in thresholds.items():
        # Never below the default, also for a language the point has no threshold of its own.
        review = max(reviews.get(lang, reviews["*"]), limits.review)
        moved[lang] = Thresholds(review=review, high=max(limits.high, review))
    return moved
