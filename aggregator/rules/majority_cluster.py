"""FLAME's majority cluster: the updates a dense majority agrees with, by cosine distance.

Nguyen et al., "FLAME: Taming Backdoors in Federated Learning", USENIX Security 2022, cluster
the round's updates with HDBSCAN on pairwise cosine distances, ``min_cluster_size = n/2 + 1``,
``min_samples = 1``, a single cluster allowed, and drop every update outside the one cluster:
backdoored updates, even trained on real data without a boost, point somewhat away from the
honest majority, and a cluster of more than half the updates cannot be theirs while they are a
minority.

With ``min_samples = 1`` HDBSCAN's mutual reachability is the plain distance, and with
``min_cluster_size > n/2`` its condensed tree never splits into two clusters: the root sheds
small branches as noise until what is left breaks into parts all smaller than the minimum.
The points kept are that last part, which is the first component of single-linkage
clustering to reach ``n//2 + 1`` members — what :func:`majority_cluster` computes, on the
cosine matrix the rule already has (ties broken by index, so verifiers agree).

Threat model and limits: a minority of attackers whose updates are farther from the honest
majority than honest updates are from each other. That holds when honest data is alike (IID);
when honest trainers' data differ (non-IID), honest updates are far apart too and the cluster
may shed honest updates and keep attackers (measured in ``bench/robustness.py``).
"""

from __future__ import annotations

import torch

__all__ = ["majority_cluster", "rival_groups"]


def majority_cluster(cosines: torch.Tensor) -> tuple[list[int], float]:
    """Return (sorted members of the majority cluster, the cosine distance it formed at).

    ``cosines`` is the ``[N, N]`` pairwise cosine matrix. The cluster is the first connected
    component of single linkage on ``1 - cos`` to reach ``N // 2 + 1`` members; with ``N <= 2``
    every update is in it (distance 0).
    """
    n = cosines.shape[0]
    need = n // 2 + 1
    if n <= 2:
        return list(range(n)), 0.0
    distance = (1.0 - cosines.to(torch.float64)).clamp_min(0.0)
    edges = sorted((float(distance[i, j]), i, j) for i in range(n) for j in range(i + 1, n))
    parent = list(range(n))
    size = [1] * n

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for d, i, j in edges:
        a, b = root(i), root(j)
        if a == b:
            continue
        a, b = min(a, b), max(a, b)
        parent[b] = a
        size[a] += size[b]
        if size[a] >= need:
            return [k for k in range(n) if root(k) == a], d
    raise AssertionError("single linkage joins every update")  # pragma: no cover


def rival_groups(cosines: torch.Tensor, members: list[int], distance: float) -> list[list[int]]:
    """Groups of two or more updates outside the majority linked closer than ``distance``.

    Among the updates not in ``members``, links where the cosine distance is below
    ``distance`` (a fraction of the majority cluster's formation distance: a group denser than
    the majority itself); connected components of two or more. Each group sorted; groups
    ordered by their smallest member.
    """
    n = cosines.shape[0]
    outside = [i for i in range(n) if i not in set(members)]
    parent = {i: i for i in outside}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a in outside:
        for b in outside:
            if a < b and 1.0 - float(cosines[a, b]) < distance:
                ra, rb = root(a), root(b)
                parent[max(ra, rb)] = min(ra, rb)
    found: dict[int, list[int]] = {}
    for i in outside:
        found.setdefault(root(i), []).append(i)
    return sorted((g for g in found.values() if len(g) >= 2), key=lambda g: g[0])
