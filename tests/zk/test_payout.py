"""The payout statement's Python reference: encodings, decisions, split, root and binding."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from aggregator.rewards import split_rewards
from fedmarket.zk.binding import SCALAR_FIELD, payout_challenge
from fedmarket.zk.payout import (
    COS_SCALE,
    PayoutStatement,
    SlotMeasurements,
    cos_fixed,
    derived_acceptance,
    measurements_root,
    payout_amounts,
    payout_circuit_size,
    quantize_cosine,
)
from fedmarket.zk.synthetic import DEFAULT_PARAMS as PARAMS
from fedmarket.zk.synthetic import addresses, random_slots


def test_cos_fixed_rounds_half_to_even_and_clamps():
    assert cos_fixed(0.5) == COS_SCALE // 2
    assert cos_fixed(1.5 / COS_SCALE) == 2          # tie: to even
    assert cos_fixed(2.5 / COS_SCALE) == 2
    assert cos_fixed(1.0000001) == COS_SCALE
    assert cos_fixed(-3.0) == -COS_SCALE
    with pytest.raises(ValueError, match="NaN"):
        cos_fixed(float("nan"))


def test_quantized_cosines_compare_as_their_integers():
    rng = random.Random(1)
    for _ in range(2000):
        a, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
        qa, qb = quantize_cosine(a), quantize_cosine(b)
        assert (qa < qb) == (cos_fixed(qa) < cos_fixed(qb))
        assert (qa >= qb) == (cos_fixed(qa) >= cos_fixed(qb))
        assert quantize_cosine(qa) == qa and float(repr(qa)) == qa


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("equal", [True, False])
def test_payout_amounts_are_split_rewards(seed, equal):
    rng = random.Random(seed)
    for _ in range(200):
        n = rng.randint(1, 64)
        slots = [SlotMeasurements(accepted=rng.random() < 0.6,
                                  contribution=rng.choice([0, -3, rng.randint(-10**6, 10**6)]))
                 for _ in range(n)]
        pool = rng.choice([0, 1, 7, 10**18, rng.randint(0, 2**96 - 1)])
        params = replace(PARAMS, equal_fallback=equal)
        expected = split_rewards(pool, [s.contribution for s in slots],
                                 [s.accepted for s in slots],
                                 fallback="equal" if equal else "none")
        assert payout_amounts(slots, params, pool) == expected


def test_decision_needs_every_condition():
    slot = SlotMeasurements(accepted=True, contribution=5, usable=True,
                            ref_cos=cos_fixed(0.3), max_cos=cos_fixed(0.5),
                            consensus_cos=cos_fixed(0.6))
    assert derived_acceptance(slot, PARAMS)
    assert not derived_acceptance(replace(slot, usable=False), PARAMS)
    assert not derived_acceptance(replace(slot, ref_cos=PARAMS.floor_cos), PARAMS)   # > floor
    assert not derived_acceptance(replace(slot, max_cos=PARAMS.group_cos), PARAMS)   # < thr
    assert derived_acceptance(replace(slot, max_cos=PARAMS.group_cos),
                              replace(PARAMS, one_vote=True))
    assert not derived_acceptance(replace(slot, consensus_cos=PARAMS.group_cos), PARAMS)
    assert not derived_acceptance(replace(slot, rival=True, gain=PARAMS.gain_min - 1), PARAMS)
    assert derived_acceptance(replace(slot, rival=True, gain=PARAMS.gain_min), PARAMS)


def test_check_refuses_a_verdict_the_measurements_do_not_give():
    slots = random_slots(random.Random(3), 10)
    statement = PayoutStatement(1, 1, addresses(10), tuple(slots), PARAMS, 10**18)
    statement.check()
    flipped = list(slots)
    flipped[4] = replace(flipped[4], accepted=not flipped[4].accepted)
    with pytest.raises(ValueError, match="slot 4 .* is not the one its measurements give"):
        replace(statement, slots=tuple(flipped)).check()
    # another rule: the published verdict is what is committed
    replace(statement, slots=tuple(flipped), params=replace(PARAMS, trusted=False)).check()


def test_check_refuses_out_of_range_values():
    slot = SlotMeasurements(accepted=True, contribution=2**40)
    statement = PayoutStatement(1, 1, addresses(1), (slot,), replace(PARAMS, trusted=False), 1)
    with pytest.raises(ValueError, match="contribution"):
        statement.check()
    with pytest.raises(ValueError, match="pool"):
        replace(statement, slots=(replace(slot, contribution=1),), pool=2**96).check()
    with pytest.raises(ValueError, match="at most 64"):
        payout_circuit_size(65)


def test_root_commits_every_measurement_and_address():
    rng = random.Random(4)
    slots = random_slots(rng, 12)
    trainers = addresses(12)
    root = measurements_root(slots, trainers)
    assert 0 < root < SCALAR_FIELD
    changed = list(slots)
    changed[11] = replace(changed[11], consensus_cos=changed[11].consensus_cos ^ 1)
    assert measurements_root(changed, trainers) != root
    assert measurements_root(slots, trainers[:11] + (f"0x{99:040x}",)) != root
    assert measurements_root(slots[:11], trainers[:11]) != root


def test_binding_changes_with_any_wei_verdict_or_address():
    trainers, amounts, accepted = addresses(4), [10, 20, 0, 0], [True, True, True, False]
    r, h = payout_challenge(1, 2, 77, trainers, amounts, accepted)
    assert payout_challenge(1, 2, 77, trainers, [11, 19, 0, 0], accepted)[1] != h
    assert payout_challenge(1, 2, 77, trainers, amounts, [True, True, False, False])[1] != h
    moved = trainers[:2] + (f"0x{9:040x}",) + trainers[3:]
    assert payout_challenge(1, 2, 77, moved, amounts, accepted)[1] != h
    assert payout_challenge(1, 3, 77, trainers, amounts, accepted)[0] != r
    assert payout_challenge(1, 2, 78, trainers, amounts, accepted)[0] != r
