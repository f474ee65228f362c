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

from aggregator.inputs import gather_round
from aggregator.trigger_scan import SHORTCUT_REASONS
from fedmarket.chain.types import RoundStatus
from fedmarket.modelspec import TrainingSpec
from fedmarket.round_result import RoundResult
from tests.e2e.market import Market, build_market

ATTACKERS = (4, 5)


@pytest.fixture
def scanned(client_for, tmp_path: Path) -> Market:
    return build_market(client_for, tmp_path, trainers=6,
                        attacks=dict.fromkeys(ATTACKERS, "backdoor"), rounds=2,
                        rule="trusted", rule_params={"shortcut_bar": 0.5}, prove=True,
                        training=TrainingSpec(local_epochs=5, lr=0.01, batch_size=16,
                                              optimizer="adam"))


def test_scanned_rounds_reject_the_backdoor_and_finalize_proven(scanned: Market) -> None:
    market = scanned
    for number in (1, 2):
        market.play_round()

        info = market.owner.market.round(market.project, number)
        assert info.status == RoundStatus.FINALIZED and info.agrees >= 2
        assert info.disagrees == 0 and info.proof_verified
        result = RoundResult.from_bytes(market.store.get(info.result_cid))
        assert result.rule_params["shortcut_bar"] == 0.5
        by_address = {t.address: t for t in result.trainers}
        for i, trainer in enumerate(market.trainers):
            entry = by_address[trainer.address]
            assert "shortcut_ratio" in entry.robustness
            if i in ATTACKERS:
                assert entry.reward == 0 and entry.reason in SHORTCUT_REASONS
            else:
                assert entry.reason not in SHORTCUT_REASONS
    # Round 2's inputs, as the aggregator and every verifier gather them, carry round 1's flags
    # (from its finalized result in the store), so its looser bar applied to the attackers.
    gathered = gather_round(market.owner.market, market.store, market.posted.spec,
                            market.project, 2, market.deployment.start_block)
    assert gathered.inputs.flagged == {market.trainers[i].address.lower() for i in ATTACKERS}
