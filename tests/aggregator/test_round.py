import pytest
import torch

from aggregator.round import RoundInputs, RoundSpec, canonical_order, compute_round
from aggregator.validation import Verdict, validate_updates
from fedmarket.errors import AggregationError
from fedmarket.merkle import verify
from fedmarket.round_result import RoundResult

TRAINERS = [f"0x{i:040x}" for i in range(1, 7)]


def six_trainers(dim=200):
    g = torch.Generator().manual_seed(5)
    center = torch.randn(dim, generator=g)
    x = center + 0.1 * torch.randn(6, dim, generator=g)
    x[1] = -x[1]  # sign flippers at positions 1 and 4
    x[4] = -2 * x[4]
    return x


def inputs(x, **kw):
    base = dict(project=3, round=2, trainers=TRAINERS, update_cids=[f"bafy{i}" for i in range(6)],
                samples=[10, 20, 30, 40, 50, 60], updates=x, base_model_cid="bafyG", pool=10**18)
    base.update(kw)
    return RoundInputs(**base)


def test_six_trainers_two_sign_flippers_rejected_and_unpaid():
    outcome = compute_round(inputs(six_trainers()), RoundSpec("multi_krum", {"f": 1, "m": 4}),
                            model_cid=lambda agg: "bafyNew")
    assert [v.accepted for v in outcome.verdicts] == [True, False, True, True, False, True]
    assert outcome.verdicts[1].reason == "rejected_by_rule:multi_krum"
    assert outcome.rewards[1] == outcome.rewards[4] == 0
    assert all(outcome.rewards[i] > 0 for i in (0, 2, 3, 5))
    assert outcome.total <= 10**18
    data = outcome.result_bytes
    assert RoundResult.from_bytes(data) == outcome.result
    assert outcome.tree is not None
    for i, value in enumerate(outcome.tree.values):
        assert verify(outcome.rewards_root, value, outcome.tree.proof(i))


def test_round_is_deterministic_with_shapley():
    x = six_trainers()

    def utility(subset):
        if not subset:
            return -10.0
        return float(-(x[list(subset)].mean(0) - x[[0, 2, 3, 5]].mean(0)).norm())

    spec = RoundSpec("multi_krum", {"f": 1, "m": 4}, "gtg_shapley", {"max_sweeps": 5})
    a = compute_round(inputs(x), spec, model_cid=lambda agg: "m", utility=utility)
    b = compute_round(inputs(x.clone()), spec, model_cid=lambda agg: "m", utility=utility)
    assert a.result_hash == b.result_hash
    assert sum(a.scores) == pytest.approx(utility((0, 2, 3, 5)) - utility(()), abs=1e-3)


def test_validation_rejects_free_riders():
    x = six_trainers()
    g = torch.randn(200)
    x[0] = 0.0
    x[3] = x[2]
    x[5] = g
    prior = [None, Verdict.reject("cid_mismatch"), None, None, None, None]
    verdicts = validate_updates(x, g, prior)
    assert [v.reason for v in verdicts] == ["zero_update", "cid_mismatch", "duplicate_update",
                                            "duplicate_update", None, "copy_of_global_model"]


def test_non_finite_update_rejected_not_fatal():
    x = six_trainers()
    x[0, 3] = float("inf")
    outcome = compute_round(inputs(x), RoundSpec("median"), model_cid=lambda a: "m")
    assert outcome.verdicts[0].reason == "non_finite"
    assert outcome.rewards[0] == 0


def test_unsorted_trainers_raise():
    with pytest.raises(AggregationError, match="ascending"):
        compute_round(inputs(six_trainers(), trainers=TRAINERS[::-1]), RoundSpec("fedavg"),
                      model_cid=lambda a: "m")
    assert canonical_order(TRAINERS[::-1]) == [5, 4, 3, 2, 1, 0]


def test_round_that_cannot_be_aggregated_rejects_everyone_and_pays_nothing() -> None:
    import torch

    from aggregator.round import RoundInputs, RoundSpec, compute_round_or_reject_all

    trainers = sorted(["0x" + f"{i:040x}" for i in range(1, 4)])
    inputs = RoundInputs(project=1, round=1, trainers=trainers, update_cids=["a", "b", "c"],
                         samples=[10, 10, 10], updates=torch.randn(3, 5), base_model_cid="base",
                         pool=1000)

    outcome = compute_round_or_reject_all(inputs, RoundSpec("krum", {"f": 1}),
                                          model_cid=lambda _: "new")

    assert outcome.total == 0 and outcome.result.model_cid == "base"
    assert all(not v.accepted and "2f + 3" in (v.reason or "") for v in outcome.verdicts)
    assert outcome.tree is not None and len(outcome.tree.values) == 3


def _round_inputs(updates, earlier=frozenset(), prior=None):
    import torch  # noqa: F401

    from aggregator.round import RoundInputs

    n = updates.shape[0]
    trainers = sorted("0x" + f"{i:040x}" for i in range(1, n + 1))
    return RoundInputs(project=1, round=2, trainers=trainers,
                       update_cids=[f"cid{i}" for i in range(n)], samples=[10] * n,
                       updates=updates, base_model_cid="base", pool=10**6,
                       prior_verdicts=prior, earlier_digests=earlier)


def test_an_update_replayed_from_the_previous_round_is_rejected() -> None:
    import torch

    from aggregator.round import RoundSpec, compute_round
    from aggregator.validation import update_digest

    torch.manual_seed(0)
    updates = torch.randn(5, 8) * 0.1 + 1.0
    earlier = frozenset({update_digest(updates[2])})

    outcome = compute_round(_round_inputs(updates, earlier), RoundSpec("fedavg"),
                            model_cid=lambda _: "m")

    assert outcome.verdicts[2].reason == "replayed_update"
    assert outcome.rewards[2] == 0 and sum(v.accepted for v in outcome.verdicts) == 4


def test_a_noisy_copy_of_another_trainers_previous_update_is_a_stale_copy() -> None:
    import dataclasses

    import torch

    from aggregator.round import RoundSpec, compute_round

    gen = torch.Generator().manual_seed(0)
    earlier = torch.randn(5, 64, generator=gen)
    updates = torch.randn(5, 64, generator=gen)
    # Trainer 3 replays trainer 1's previous update with 1 % of its RMS as noise (cos ~0.9999).
    updates[3] = earlier[1] + 0.01 * torch.randn(64, generator=gen)
    inputs = _round_inputs(updates)
    inputs = dataclasses.replace(inputs, earlier_updates=earlier,
                                 earlier_trainers=list(inputs.trainers))

    outcome = compute_round(inputs, RoundSpec("fedavg"), model_cid=lambda _: "m")

    assert [v.reason for v in outcome.verdicts] == [None, None, None, "stale_copy", None]
    assert outcome.rewards[3] == 0
    assert outcome.robustness[3]["stale_cosine"] > 0.99
    # Random 64-d directions: |cos| is about 1/8 each, far below 0.9.
    assert all(outcome.robustness[i]["stale_cosine"] < 0.6 for i in (0, 1, 2, 4))


def test_an_update_close_to_its_own_previous_one_is_not_judged_stale() -> None:
    import dataclasses

    import torch

    from aggregator.round import RoundSpec, compute_round

    gen = torch.Generator().manual_seed(1)
    earlier = torch.randn(4, 256, generator=gen)
    # Each trainer's update is its previous one plus 5 % noise (cos ~0.999): slow honest
    # training reaches 0.98 with the default spec, so one's own update is never a stale copy.
    updates = earlier + 0.05 * torch.randn(4, 256, generator=gen)
    inputs = _round_inputs(updates)
    inputs = dataclasses.replace(inputs, earlier_updates=earlier,
                                 earlier_trainers=list(inputs.trainers))

    outcome = compute_round(inputs, RoundSpec("fedavg"), model_cid=lambda _: "m")

    assert all(v.accepted for v in outcome.verdicts)
    assert all(outcome.robustness[i]["own_stale_cosine"] > 0.99 for i in range(4))
    assert all(outcome.robustness[i]["stale_cosine"] < 0.5 for i in range(4))


def test_updates_rejected_by_validation_count_against_f() -> None:
    import torch

    from aggregator.round import RoundSpec, compute_round

    torch.manual_seed(0)
    updates = torch.randn(7, 8) * 0.1 + 1.0
    updates[5] = updates[6]  # two colluders submit the same update: both are duplicates

    outcome = compute_round(_round_inputs(updates), RoundSpec("multi_krum", {"f": 2}),
                            model_cid=lambda _: "m")

    # 5 valid updates could not satisfy n >= 2f + 3 with f = 2; with the two caught, f = 0.
    assert outcome.result.rule_params["f"] == 0
    assert [v.accepted for v in outcome.verdicts] == [True] * 5 + [False] * 2
