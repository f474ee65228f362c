"""Seeded synthetic payout statements: for tests and ``bench/zk.py``, never for a real round.

Random measurements for ``n`` trainers under the default rule's parameters, each verdict the
one its measurements give, so the statement is provable and every branch of the circuit is
exercised (rejections on every condition, rivals readmitted or not, negative contributions).
"""

from __future__ import annotations

import random
from dataclasses import replace

from fedmarket.zk.payout import (
    COS_SCALE,
    PayoutParams,
    PayoutStatement,
    SlotMeasurements,
    cos_fixed,
    derived_acceptance,
)

__all__ = ["DEFAULT_PARAMS", "random_slots", "addresses", "synthetic_statement"]

#: The trusted rule's defaults on the grid: floor 0.043 (3 sigmas at D = 4810), threshold 0.9,
#: readmission bar 0.15.
DEFAULT_PARAMS = PayoutParams(trusted=True, equal_fallback=True, floor_cos=cos_fixed(0.043),
                              group_cos=cos_fixed(0.9), gain_min=cos_fixed(0.15))


def random_slots(rng: random.Random, n: int,
                 params: PayoutParams = DEFAULT_PARAMS) -> list[SlotMeasurements]:
    """``n`` slots with random measurements and the verdicts they give under ``params``."""
    slots = []
    for _ in range(n):
        slot = SlotMeasurements(
            accepted=False, contribution=rng.randint(-50_000, 1_000_000),
            usable=rng.random() < 0.9, rival=rng.random() < 0.2,
            ref_cos=rng.randint(-COS_SCALE, COS_SCALE), max_cos=rng.randint(0, COS_SCALE),
            consensus_cos=rng.randint(0, COS_SCALE), gain=rng.randint(-COS_SCALE, COS_SCALE))
        slots.append(replace(slot, accepted=derived_acceptance(slot, params)))
    return slots


def addresses(n: int) -> tuple[str, ...]:
    """``n`` distinct ascending addresses."""
    return tuple(f"0x{(i + 1) * 0x1111:040x}" for i in range(n))


def synthetic_statement(n: int, seed: int = 0, pool: int = 10**18) -> PayoutStatement:
    """A trusted-rule round of ``n`` trainers, at least two of them paid."""
    rng = random.Random(n * 1000 + seed)
    while True:
        slots = random_slots(rng, n)
        if sum(s.accepted and s.contribution > 0 for s in slots) >= 2:
            return PayoutStatement(3, 2, addresses(n), tuple(slots), DEFAULT_PARAMS, pool)
