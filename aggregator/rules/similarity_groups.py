"""Group near-copies: updates whose cosine similarity reaches a threshold count as one party.

The idea of FoolsGold (Fung, Yoon, Beschastnikh, "The Limitations of Federated Learning in Sybil
Settings", RAID 2020): Sybils and colluders send updates far more alike than honest trainers'
(measured on digits after 5 local epochs: honest pairs reach cosine 0.70 on IID shards and 0.55
non-IID; an update copied with small noise, above 0.99). FoolsGold turns the largest similarity
into a soft weight, which also punishes honest trainers whose data makes them alike (clean IID
shards, the best data) and favours noisy-label trainers (the most distinct). Here the similarity
only *groups*: updates linked by a chain of pairwise cosines ``>= threshold`` (connected
components, single linkage) form one party, which then gets one vote in the aggregate and one
player's value in scoring (:mod:`aggregator.contribution.group_shapley`). Below the threshold
nothing changes, so similarity never costs an honest trainer influence or reward.

Deterministic from the Gram matrix of the updates; each update's group and largest cosine are
recorded in the round result. Threat model: near-copies (k accounts sending one update with
small per-account noise). A party that splits its *data* among accounts sends genuinely
different updates and is not grouped (see the README on what that buys).
"""

from __future__ import annotations

import torch

from .gram import gram_matrix

__all__ = ["pairwise_cosines", "similarity_groups", "consensus_cosines"]

_TINY = 1e-30


def pairwise_cosines(updates: torch.Tensor) -> torch.Tensor:
    """``[N, N]`` float64 cosine similarities of the rows (0 against a zero row; diagonal 1)."""
    gram = gram_matrix(updates)
    norms = gram.diagonal().clamp_min(0.0).sqrt()
    denom = norms[:, None] * norms[None, :]
    cos = torch.where(denom > _TINY, gram / denom.clamp_min(_TINY), torch.zeros_like(gram))
    cos = cos.clamp(-1.0, 1.0)
    cos.fill_diagonal_(1.0)
    return cos


def similarity_groups(cosines: torch.Tensor, threshold: float) -> tuple[list[list[int]],
                                                                          list[float]]:
    """Return (groups, largest cosine of each row to another row).

    Groups are the connected components of the graph with an edge where ``cos >= threshold``;
    each group is sorted, and groups are ordered by their smallest member.
    """
    n = cosines.shape[0]
    others = cosines.clone()
    others.fill_diagonal_(-2.0)
    largest = [float(v) for v in others.max(dim=1).values] if n > 1 else [0.0] * n
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    linked = (others >= threshold).nonzero().tolist()
    for i, j in linked:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(root(i), []).append(i)
    return sorted(members.values(), key=lambda g: g[0]), largest


def consensus_cosines(cosines: torch.Tensor, rows: list[int]) -> list[float]:
    """For each of ``rows``: cosine to the sum of the *other* rows' unit vectors.

    The near-copy test against a combination instead of one update: an attacker who sees the
    round's honest updates can send their mean (ALIE with one account: measured cosine 0.99-1.00
    to it), which no pairwise test catches and which scoring values like all of them together.
    From the cosine matrix alone: ``u_i . (T - u_i) = sum_{j != i} c_ij`` and
    ``|T - u_i|^2 = sum_{j, k != i} c_jk`` over ``rows``. 0 for a row with no others.
    """
    if len(rows) < 2:
        return [0.0] * len(rows)
    sub = cosines[rows][:, rows].to(torch.float64)
    total = sub.sum()
    out = []
    for a in range(len(rows)):
        dot = float(sub[a].sum() - sub[a, a])
        rest = float(total - 2 * sub[a].sum() + sub[a, a])
        out.append(dot / rest ** 0.5 if rest > _TINY else 0.0)
    return out
