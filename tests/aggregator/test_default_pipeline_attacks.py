"""The default rule and scoring (``trusted`` + ``group_shapley``) against adaptive attacks, Sybils.

Run without the trigger scan (``unscanned_round_spec``), which the default adds for digits:
the scan runs before the rule and only rejects models with a planted shortcut, so it leaves
the model-poisoning, Sybil, inflation and replay defences here as they are, and costs about
3 s a round (48 runs here: 8 minutes of CI). The default with the scan is measured against all
of these by ``bench/robustness.py`` (its reduced grid in ``tests/bench``) and against the
backdoor in ``tests/aggregator/test_trigger_scan.py``.

Seeded federations of the bundled digits (10 parties, IID and Dirichlet 0.5, seeds 0 and 1;
3 rounds of 5 local epochs) run in process through the real round computation
(:mod:`trainer.federation`). Parties 7, 8 and 9 attack (30 %, the owner's f = 3).

"Fails to profit" means, per cell:

* attackers' reward share: <= 1 % for model poisoning (Min-Max, Min-Sum, Fang, ALIE: their
  near-copies are rejected as one party behind several accounts, or their cosine to the
  reference update is not positive); for the backdoor, which trains on the attackers' real
  data, no more than the same parties earn honestly in the clean run, plus 5 points
  (Monte-Carlo Shapley noise between runs of different seeds);
* accuracy (287 test samples, one is 0.35 points) at most 3 points below the run in which the
  attackers send nothing at all (``absent``): an attacker can always withhold its data, and in
  a non-IID split those parties may hold classes nobody else has (seed 1: 14 points), so the
  clean run with their data is not a bound a defence can reach;
* honest parties still paid: at least 5 of the 7 get something.

With partial knowledge (no view of the honest updates) the bound on the share is half what the
same parties earn honestly (see the test).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from fedmarket.datasets import load_data
from fedmarket.zk.round import payout_statement
from trainer import attacks
from trainer import federation as fed_api
from trainer.federation import Federation, FederationResult, PartyView, Submission

ATTACKERS = (7, 8, 9)
CASES = [(seed, alpha) for seed in (0, 1) for alpha in (None, 0.5)]
IDS = [f"seed{s}-{'iid' if a is None else 'dir0.5'}" for s, a in CASES]
MODEL_POISONING = ("min_max", "min_sum", "fang_krum", "alie")
PIPELINE = fed_api.unscanned_round_spec()  # see the module docstring


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    # Two shared cores; one thread also keeps CPU training bitwise reproducible.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class Runs:
    """Runs per (seed, split), computed once: the clean and absent baselines are shared."""

    def __init__(self) -> None:
        self.data = load_data("digits")
        self.feds: dict[tuple[int, float | None], Federation] = {}
        self.done: dict[tuple[int, float | None, str], FederationResult] = {}

    def get(self, seed: int, alpha: float | None, name: str) -> FederationResult:
        key = (seed, alpha, name)
        if key not in self.done:
            if (seed, alpha) not in self.feds:
                self.feds[seed, alpha] = fed_api.federation(self.data, 10, alpha=alpha,
                                                            seed=seed)
            self.done[key] = fed_api.run(self.feds[seed, alpha], PIPELINE, behaviours(name))
        return self.done[key]


def withhold(view: PartyView) -> list[Submission]:
    """Sends a zero update (rejected by validation): the party's data is simply absent."""
    return [Submission({n: torch.zeros_like(t) for n, t in view.honest_delta.items()},
                       view.samples)]


def behaviours(name: str) -> dict[int, fed_api.Behaviour]:
    if name == "clean":
        return {}
    if name == "absent":
        return dict.fromkeys(ATTACKERS, withhold)
    if name == "sybil":
        return {9: fed_api.sybil(accounts=3, noise=0.01)}
    if name == "inflated":
        return dict.fromkeys(ATTACKERS, fed_api.inflated(10))
    if name == "copycat":
        return dict.fromkeys(ATTACKERS, fed_api.copycat(noise=0.01))
    if name == "alie_alone":
        return {9: fed_api.from_attack(attacks.get("alie"))}
    params = {"backdoor": {"patch": 2, "target": 0, "boost": 1.0}}.get(name, {})
    return {i: fed_api.from_attack(attacks.get(name, **params)) for i in ATTACKERS}


@pytest.fixture(scope="module")
def runs() -> Runs:
    return Runs()


def assert_no_harm(runs: Runs, seed: int, alpha: float | None, result: FederationResult) -> None:
    absent = runs.get(seed, alpha, "absent")
    assert result.accuracy >= absent.accuracy - 0.03
    honest_paid = sum(result.rewards[i] > 0 for i in range(10) if i not in ATTACKERS)
    assert honest_paid >= 5


@pytest.mark.parametrize("attack", MODEL_POISONING)
@pytest.mark.parametrize(("seed", "alpha"), CASES, ids=IDS)
def test_model_poisoning_attack_does_not_profit(runs, seed, alpha, attack):
    result = runs.get(seed, alpha, attack)

    assert result.share(ATTACKERS) <= 0.01
    assert_no_harm(runs, seed, alpha, result)


@pytest.mark.parametrize(("seed", "alpha"), CASES, ids=IDS)
def test_unboosted_backdoor_earns_no_more_than_honest_training(runs, seed, alpha):
    honest_share = runs.get(seed, alpha, "clean").share(ATTACKERS)

    result = runs.get(seed, alpha, "backdoor")

    assert result.share(ATTACKERS) <= honest_share + 0.05
    assert_no_harm(runs, seed, alpha, result)


@pytest.mark.parametrize(("seed", "alpha"), CASES, ids=IDS)
def test_one_account_sending_the_honest_mean_earns_nothing(runs, seed, alpha):
    # ALIE with one attacker is the honest updates' mean (cosine 0.99-1.00 to the others' mean;
    # honest updates measured <= 0.80): no pairwise near-copy, but a copy of their consensus.
    result = runs.get(seed, alpha, "alie_alone")

    assert result.share([9]) <= 0.01
    assert all(result.accepted[r][9] == 0 for r in range(3))


@pytest.mark.parametrize("seed", [0, 1])
def test_unboosted_backdoor_does_not_implant_in_an_iid_split(runs, seed):
    from fedmarket.evaluation import evaluate_weights
    from trainer.attacks.backdoor import triggered

    clean = runs.get(seed, None, "clean")
    trigger = triggered(runs.feds[seed, None].test)
    spec = runs.feds[seed, None].spec
    clean_rate = evaluate_weights(spec, clean.weights, trigger, device="cpu")[0]

    result = runs.get(seed, None, "backdoor")

    # The colluders are a rival group of the majority cluster from round 2 (trusted's
    # majority="rivals"; 8 % success before). Non-IID they often hold classes only they have,
    # and are readmitted (aggregator.rival_check): not asserted, see the README.
    assert evaluate_weights(spec, result.weights, trigger, device="cpu")[0] <= clean_rate + 0.05
    # Not asserted here: the accuracy cost. Round 1 still accepts the colluders (from the random
    # model every update points the same way), which cost seed 0 3.1 points once the reference
    # update trained on one thread (1.7 before): a target missed on some seeds, reported per
    # cell by bench/robustness.py and in the README, not a property the rule guarantees.


@pytest.mark.parametrize(("seed", "alpha"), CASES, ids=IDS)
def test_sybil_split_into_three_accounts_does_not_raise_the_party_share(runs, seed, alpha):
    one_account = runs.get(seed, alpha, "clean").share([9])

    result = runs.get(seed, alpha, "sybil")

    # Its near-copies are rejected, so its data also leaves the model: the Sybil's own loss
    # (seed 1, Dirichlet 0.5: 6 points), which is why no accuracy bound is asserted here.
    assert result.share([9]) <= one_account + 0.01


@pytest.mark.parametrize(("seed", "alpha"), CASES, ids=IDS)
def test_declaring_ten_times_the_samples_buys_nothing(runs, seed, alpha):
    clean = runs.get(seed, alpha, "clean")

    result = runs.get(seed, alpha, "inflated")

    # Only the scoring seed changes (it hashes the declared counts): Shapley noise, no more.
    assert result.share(ATTACKERS) <= clean.share(ATTACKERS) + 0.05
    assert result.accuracy >= clean.accuracy - 0.03


@pytest.mark.parametrize(("seed", "alpha"), CASES, ids=IDS)
def test_copycat_replaying_last_rounds_revealed_updates_earns_nothing(runs, seed, alpha):
    result = runs.get(seed, alpha, "copycat")

    # Issue 14 measured 9-13 % before the stale-copy check; round 1 it sends zeros.
    assert result.share(ATTACKERS) <= 0.01
    assert all(result.accepted[r][i] == 0 for r in range(3) for i in ATTACKERS)
    assert_no_harm(runs, seed, alpha, result)


@pytest.mark.parametrize(("attack", "params", "full"), [
    ("min_max", {"direction": "unit"}, True),
    ("min_sum", {"direction": "sign"}, True),
    ("min_max", {"direction": "std"}, False),  # partial knowledge: own-data estimates
    ("fang_krum", {}, False),
], ids=["min_max-unit", "min_sum-sign", "min_max-partial", "fang_krum-partial"])
def test_other_directions_and_partial_knowledge_do_not_profit(runs, attack, params, full):
    seed, alpha = 0, 0.5
    runs.get(seed, alpha, "absent")  # builds the federation
    bad = {i: fed_api.from_attack(attacks.get(attack, **params), full_knowledge=full)
           for i in ATTACKERS}

    result = fed_api.run(runs.feds[seed, alpha], PIPELINE, bad)

    if full:
        assert result.share(ATTACKERS) <= 0.01
    else:
        # Without the honest updates each attacker crafts from estimates on its own data: the
        # vectors differ (no group to reject) and carry that data's real signal, so they may
        # earn something, but well under their honest share (measured Min-Max: 6.3 % vs 31 %).
        assert result.share(ATTACKERS) <= 0.5 * runs.get(seed, alpha, "clean").share(ATTACKERS)
    assert_no_harm(runs, seed, alpha, result)


@pytest.mark.parametrize(("seed", "alpha"), CASES, ids=IDS)
def test_every_round_under_every_attack_is_provable(runs, seed, alpha):
    # The rule decides on the payout proof's fixed-point grid (fedmarket.zk.payout), so each
    # published verdict and wei is its proof's statement: checked on every run of this module
    # (cached, so nothing is trained twice when the module runs whole).
    for name in ("clean", "absent", "backdoor", "sybil", "inflated", "copycat", "alie_alone",
                 *MODEL_POISONING):
        for outcome in runs.get(seed, alpha, name).outcomes:
            statement = payout_statement(outcome.result)  # raises UnprovableRound if not
            assert statement.amounts == outcome.rewards
            assert [s.accepted for s in statement.slots] == [
                v.accepted for v in outcome.verdicts]
