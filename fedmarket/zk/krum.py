"""Integer Multi-Krum on fixed-point sketches and the integer reward split: what the proof proves.

Multi-Krum (Blanchard et al., "Machine Learning with Adversaries: Byzantine Tolerant Gradient
Descent", NeurIPS 2017), in its one-pass form (as in Flower's ``krum.py``): with ``n`` trainers
and an assumed ``f`` Byzantine ones, trainer ``i``'s score is the sum of its squared distances to
its ``q = n - f - 2`` closest other trainers; the ``m`` trainers with the smallest scores are
accepted and the others flagged as outliers. Here every quantity is an integer: distances are
exact squared Euclidean distances between encoded sketches, and ties are broken by slot index
(the key is ``score * 32 + slot``), so the selection is unique.

The reward split: accepted trainer ``i`` with published fixed-point score ``s_i`` weighs
``w_i = s_i`` (rejected trainers weigh 0), ``W = sum w_i``, and ``amount_i = floor(pool * w_i /
W)``; the dust ``pool - sum amount_i`` (< number of trainers, in wei) is not paid out. When
``W = 0`` nobody is paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "INDEX_SHIFT",
    "check_parameters",
    "pairwise_distances",
    "krum_scores",
    "multi_krum_flags",
    "proportional_split",
    "KrumHints",
    "krum_hints",
]

INDEX_SHIFT = 32  # key = score * 32 + slot: slots < 32, so keys are unique


def check_parameters(n: int, f: int, m: int) -> None:
    """Raise ``ValueError`` naming the broken precondition of Multi-Krum."""
    if f < 0:
        raise ValueError(f"Multi-Krum needs f >= 0, got f={f}")
    if n < f + 3:
        raise ValueError(f"Multi-Krum needs n >= f + 3, got n={n}, f={f}")
    if not 1 <= m <= n:
        raise ValueError(f"Multi-Krum needs 1 <= m <= n, got m={m}, n={n}")


def pairwise_distances(sketches: Sequence[Sequence[int]]) -> list[list[int]]:
    """Exact squared Euclidean distances between integer sketches."""
    n = len(sketches)
    dist = [[0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            d = sum((int(a) - int(b)) ** 2 for a, b in zip(sketches[i], sketches[j], strict=True))
            dist[i][j] = dist[j][i] = d
    return dist


def _neighbours(dist: list[list[int]], i: int, q: int) -> list[int]:
    others = sorted((j for j in range(len(dist)) if j != i), key=lambda j: (dist[i][j], j))
    return others[:q]


def krum_scores(sketches: Sequence[Sequence[int]], f: int) -> list[int]:
    """Each trainer's Krum score: sum of squared distances to its n - f - 2 closest others."""
    n = len(sketches)
    check_parameters(n, f, 1)
    dist = pairwise_distances(sketches)
    q = n - f - 2
    return [sum(dist[i][j] for j in _neighbours(dist, i, q)) for i in range(n)]


def multi_krum_flags(sketches: Sequence[Sequence[int]], f: int, m: int) -> list[bool]:
    """Outlier flags (True = rejected): all but the m smallest (score, slot) keys."""
    check_parameters(len(sketches), f, m)
    scores = krum_scores(sketches, f)
    order = sorted(range(len(scores)), key=lambda i: (scores[i], i))
    accepted = set(order[:m])
    return [i not in accepted for i in range(len(scores))]


def proportional_split(pool: int, scores: Sequence[int], flags: Sequence[bool]) -> list[int]:
    """Wei amounts: floor(pool * score_i / sum of accepted scores) for accepted trainers."""
    if pool < 0 or any(s < 0 for s in scores):
        raise ValueError("pool and scores must be non-negative")
    weights = [0 if flagged else int(s) for s, flagged in zip(scores, flags, strict=True)]
    total = sum(weights)
    if total == 0:
        return [0] * len(weights)
    return [pool * w // total for w in weights]


@dataclass(frozen=True)
class KrumHints:
    """Witness hints the circuit checks instead of sorting (all integers)."""

    neighbour: list[list[int]]   # neighbour[i][j] = 1: j among i's q closest
    tau: list[int]               # i's largest neighbour distance
    key_threshold: int           # the largest accepted key
    remainder: list[int]         # pool * w_i mod W (0 when W = 0)


def krum_hints(sketches: Sequence[Sequence[int]], f: int, flags: Sequence[bool],
               scores: Sequence[int], pool: int) -> KrumHints:
    """Hints for ``n`` real trainers (the caller pads them to the circuit's size)."""
    n = len(sketches)
    dist = pairwise_distances(sketches)
    q = n - f - 2
    neighbour = [[0] * n for _ in range(n)]
    tau = [0] * n
    for i in range(n):
        chosen = _neighbours(dist, i, q)
        for j in chosen:
            neighbour[i][j] = 1
        tau[i] = max(dist[i][j] for j in chosen)
    krum = [sum(dist[i][j] for j in range(n) if neighbour[i][j]) for i in range(n)]
    keys = [krum[i] * INDEX_SHIFT + i for i in range(n)]
    key_threshold = max(keys[i] for i in range(n) if not flags[i])
    weights = [0 if flagged else int(s) for s, flagged in zip(scores, flags, strict=True)]
    total = sum(weights)
    remainder = [pool * w % total if total else 0 for w in weights]
    return KrumHints(neighbour, tau, key_threshold, remainder)
