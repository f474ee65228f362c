"""A project posted with the trigger scan: backdoor trainers rejected, the round verified on chain.

Real contracts on anvil, the content store, real local training with the project's posted
spec, the aggregator and three verifiers re-executing it (the scan's optimisation included) on
their own. Six IID trainers, the last two training with a trigger patch relabelled to class 0,
five local Adam epochs as in the robustness bench (one epoch of SGD from the random initial
model implants no shortcut yet: the backdoored models' ratios were 0.75-0.85, for other classes;
those two were rejected as near-copies of each other instead).
"""

from pathlib import Path

import pytest

from fedmarket.chain.types import RoundStatus
from fedmarket.modelspec import TrainingSpec
from fedmarket.round_result import RoundResult
from tests.contracts.scenario import travel_past
from tests.e2e.market import Market, build_market

ATTACKERS = (4, 5)


@pytest.fixture
def scanned(client_for, tmp_path: Path) -> Market:
    return build_market(client_for, tmp_path, trainers=6,
                        attacks=dict.fromkeys(ATTACKERS, "backdoor"), rounds=1,
                        rule="trusted", rule_params={"shortcut_bar": 0.5}, prove=True,
                        training=TrainingSpec(local_epochs=5, lr=0.01, batch_size=16,
                                              optimizer="adam"))


def test_a_scanned_round_rejects_the_backdoor_and_finalizes_proven(scanned: Market) -> None:
    market = scanned
    market.commit_and_reveal()
    assert market.aggregator.step(market.project)
    for verifier in market.verifiers:
        assert verifier.step(market.project)
    travel_past(market.w3, market.round_info().deadlines.verify)
    assert market.aggregator.step(market.project)

    info = market.owner.market.round(market.project, 1)
    assert info.status == RoundStatus.FINALIZED and info.agrees >= 2 and info.disagrees == 0
    result = RoundResult.from_bytes(market.store.get(info.result_cid))
    assert result.rule_params["shortcut_bar"] == 0.5
    by_address = {t.address: t for t in result.trainers}
    for i, trainer in enumerate(market.trainers):
        entry = by_address[trainer.address]
        assert "shortcut_ratio" in entry.robustness
        if i in ATTACKERS:
            assert entry.reason == "backdoor_shortcut" and entry.reward == 0
        else:
            assert entry.reason != "backdoor_shortcut"
