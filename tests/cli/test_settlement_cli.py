"""`project release`, `project reclaim` and `trainer compensation` on a node started by `chain up`.

Deadlines are passed by moving the node's clock, so no test waits on wall-clock time.
"""

from fedmarket.chain.client import dev_account
from fedmarket.chain.types import ParticipantKind
from tests.cli.conftest import Market, ok, refused

AGGREGATOR = 2
STAKE = 10**17  # the 0.1 ETH minimum trainer stake


def _running_project(market: Market, trainers: tuple[int, ...]) -> str:
    posted = ok("project", "post", "--budget", "1", "--rounds", "2", "--rule", "fedavg",
                "--rule-params", "{}", "--min-trainers", "1", "--max-trainers", "4",
                "--data-dir", market.data_dir)
    project = str(posted["project"])
    for account in trainers:
        registry = market.contracts(account).registry
        if registry.stake_of(ParticipantKind.TRAINER) == 0:
            ok("trainer", "register", "--stake", "0.1", "--account", str(account),
               "--data-dir", market.data_dir)
        ok("trainer", "join", project, "--account", str(account), "--data-dir", market.data_dir)
    aggregator = market.contracts(AGGREGATOR).market
    aggregator.start_project(int(project), aggregator.project(int(project)).params
                             .aggregator_bond_wei)
    return project


def test_a_no_show_is_released_by_anyone_and_pays_into_the_escrow(market: Market) -> None:
    project = _running_project(market, (10,))
    squatter = dev_account(10).address
    early = refused("project", "release", project, squatter, "--account", "11",
                    "--data-dir", market.data_dir)
    assert "cannot be released now" in early
    owner = market.contracts(1).market
    deadline = owner.deadlines(int(project), 1).commit
    market.travel(deadline - int(market.w3.eth.get_block("latest")["timestamp"]) + 1)

    out = ok("project", "release", project, squatter, "--account", "11",
             "--data-dir", market.data_dir)

    assert out["penalty_wei"] == str(STAKE // 10)
    assert owner.project(int(project)).escrow_wei == 10**18 + STAKE // 10
    again = refused("trainer", "join", project, "--account", "10", "--data-dir", market.data_dir)
    assert "may not rejoin" in again


def test_reclaim_before_the_window_and_compensation_without_a_slash_are_sentences(
        market: Market) -> None:
    project = _running_project(market, (12,))

    early = refused("project", "reclaim", project, "1", "--data-dir", market.data_dir)
    nothing = refused("trainer", "compensation", project, "--account", "12",
                      "--data-dir", market.data_dir)
    bad = refused("project", "release", project, "0xbad", "--data-dir", market.data_dir)

    assert "DistributorRoundNotFunded" in early
    assert "has no compensation to take" in nothing
    assert "TRAINER" in bad
