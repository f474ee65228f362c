"""Every round the default pipeline publishes is provable: its verdicts and wei are the proof's.

The ``trusted`` rule compares cosines on the payout proof's fixed-point grid, so the verdicts
it publishes are the ones the circuit derives from the published measurements — by
construction, not by luck at the thresholds. Checked on real federations (bundled digits,
10 parties, seeded) through the real round computation, IID and Dirichlet 0.5, for the
replica and majority policies other than the defaults (the defaults under every attack:
tests/aggregator/test_default_pipeline_attacks.py); and for another rule (Multi-Krum), whose
verdicts are committed as published.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import torch

from fedmarket.datasets import load_data
from fedmarket.zk.round import payout_statement, round_claim
from trainer import attacks
from trainer import federation as fed_api


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def digits():
    return load_data("digits")


def behaviours(name: str) -> dict[int, fed_api.Behaviour]:
    if name == "clean":
        return {}
    if name == "sybil":
        return {9: fed_api.sybil(accounts=3, noise=0.01)}
    params = {"backdoor": {"patch": 2, "target": 0, "boost": 1.0}}.get(name, {})
    return {i: fed_api.from_attack(attacks.get(name, **params)) for i in (7, 8, 9)}


# The default parameters under every attack are checked where those runs are made anyway
# (tests/aggregator/test_default_pipeline_attacks.py); here the other policies' code paths.
CASES = [
    (2, 0.5, "sign_flip", {"majority": "outliers"}),   # zero trust; FLAME's outliers
    (0, None, "sybil", {"replicas": "one_vote"}),      # near-copies share a vote
    (1, 0.5, "min_max", {"majority": "off"}),          # no majority step; near-copies out
]


@pytest.mark.parametrize(("seed", "alpha", "attack", "params"), CASES,
                         ids=[f"{c[2]}-{'iid' if c[1] is None else 'dir'}" for c in CASES])
def test_default_pipeline_rounds_are_provable(digits, seed, alpha, attack, params):
    fed = fed_api.federation(digits, 10, alpha=alpha, seed=seed)
    spec = replace(fed_api.default_round_spec(), rule_params=params)

    result = fed_api.run(fed, spec, behaviours(attack), rounds=2)

    decided = 0
    for outcome in result.outcomes:
        statement = payout_statement(outcome.result)  # raises if not provable
        assert statement.amounts == outcome.rewards
        assert [s.accepted for s in statement.slots] == [v.accepted for v in outcome.verdicts]
        assert round_claim(statement).claim == round_claim(
            payout_statement(outcome.result)).claim  # deterministic
        # the attack made the rule decide something: a rejection, or a shared vote
        decided += sum(not s.accepted or s.max_cos >= statement.params.group_cos
                       for s in statement.slots)
    assert decided > 0


def test_other_rules_commit_their_published_verdicts(digits):
    fed = fed_api.federation(digits, 10, alpha=None, seed=0)

    result = fed_api.run(fed, fed_api.old_default_round_spec(), behaviours("sign_flip"),
                         rounds=1)

    statement = payout_statement(result.outcomes[0].result)
    assert not statement.params.trusted
    assert statement.amounts == result.outcomes[0].rewards
