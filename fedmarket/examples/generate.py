"""Example data made or taken locally: breast-cancer table, coloured shapes, topic sentences.

All seeded, nothing fetched: scikit-learn bundles the breast-cancer data with the package,
and the other two are drawn here.
"""

from __future__ import annotations

import numpy as np

from fedmarket.datasets import Dataset

__all__ = ["breast_cancer", "shapes", "topics", "SHAPE_NAMES", "TOPIC_NAMES"]

SHAPE_NAMES = ("square", "disc", "triangle", "cross")
TOPIC_NAMES = ("sports", "weather", "food")


def breast_cancer() -> Dataset:
    """scikit-learn's bundled Wisconsin breast-cancer data: 569 × 30 features, 2 classes.

    Each feature is min-max scaled over the whole set (the example's preparation; features
    span 1e-3 … 4e3 raw, which plain SGD/Adam on a small MLP handles badly).
    """
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    x = np.asarray(bunch.data, dtype=np.float64)
    low, high = x.min(axis=0), x.max(axis=0)
    scaled = ((x - low) / np.where(high > low, high - low, 1.0)).astype(np.float32)
    return Dataset(scaled, np.asarray(bunch.target, dtype=np.int64), "breast_cancer")


def shapes(n: int = 800, size: int = 16, seed: int = 0) -> Dataset:
    """``n`` RGB images 3 × size × size of one coloured shape each on a noisy background.

    Classes (:data:`SHAPE_NAMES`): filled square, disc, triangle, plus-shaped cross; random
    colour, size and position, so a model must learn the outline, not a pixel or a colour.
    """
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size]
    x = rng.uniform(0.0, 0.25, (n, 3, size, size)).astype(np.float32)
    y = np.arange(n) % len(SHAPE_NAMES)
    rng.shuffle(y)
    for i, label in enumerate(y):
        half = rng.integers(3, size // 3 + 1)
        cy, cx = rng.integers(half, size - half, 2)
        dy, dx = rows - cy, cols - cx
        if label == 0:
            mask = (abs(dy) <= half) & (abs(dx) <= half)
        elif label == 1:
            mask = dy**2 + dx**2 <= half**2
        elif label == 2:
            mask = (dy <= half) & (dy >= -half) & (abs(dx) <= (dy + half) / 2)
        else:
            arm = max(1, half // 3)
            mask = ((abs(dy) <= arm) & (abs(dx) <= half)) | ((abs(dx) <= arm) & (abs(dy) <= half))
        colour = rng.uniform(0.5, 1.0, 3).astype(np.float32)
        for c in range(3):
            x[i, c][mask] = colour[c]
    return Dataset(x, y.astype(np.int64), "shapes")


_TOPIC_WORDS = {
    "sports": ["the team", "our striker", "the coach", "a goalkeeper", "the league",
               "scored twice", "won the match", "lost the final", "trained hard", "the stadium"],
    "weather": ["heavy rain", "the forecast", "a cold wind", "sunshine", "the storm",
                "fell overnight", "clouds gathered", "snow is expected", "it got warmer", "fog"],
    "food": ["the soup", "fresh bread", "a spicy curry", "the chef", "ripe tomatoes",
             "tasted great", "was baked", "needs more salt", "the dessert", "grilled fish"],
}
_FILLER = ["today", "again", "this morning", "in town", "as usual", "last night", "they said",
           "apparently", "once more", "finally"]


def topics(n: int = 600, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """``n`` short sentences on three topics (:data:`TOPIC_NAMES`) and their labels."""
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    labels = np.arange(n) % len(TOPIC_NAMES)
    rng.shuffle(labels)
    for label in labels:
        words = _TOPIC_WORDS[TOPIC_NAMES[label]]
        first, second = rng.choice(len(words), 2, replace=False)
        filler = _FILLER[rng.integers(len(_FILLER))]
        parts = [words[first], words[second], filler]
        order = rng.permutation(3)
        texts.append(" ".join(parts[j] for j in order))
    return texts, labels.astype(np.int64)
