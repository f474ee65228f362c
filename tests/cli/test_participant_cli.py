"""Stakes come back in one command, contract errors read as sentences, refunds show why.

On a real node started by `chain up`; deadlines are passed by moving the node's clock
(`evm_increaseTime`), so no test waits on wall-clock time.
"""

from fedmarket.cli import app
from tests.cli.conftest import Market, ok, refused, runner, text

OWNER, AGGREGATOR = 1, 2
STAKE = 10**17  # the 0.1 ETH registered below
COMMIT_S, REVEAL_S = 120, 60


def _project(market: Market) -> str:
    posted = ok("project", "post", "--budget", "1", "--rounds", "1", "--rule", "fedavg",
                "--rule-params", "{}", "--min-trainers", "1", "--max-trainers", "4",
                "--commit-seconds", str(COMMIT_S), "--reveal-seconds", str(REVEAL_S),
                "--data-dir", market.data_dir)
    return str(posted["project"])


def _trainer_joins(market: Market, account: int, project: str) -> None:
    ok("trainer", "register", "--stake", "0.1", "--account", str(account),
       "--data-dir", market.data_dir)
    ok("trainer", "join", project, "--account", str(account), "--data-dir", market.data_dir)


def _bond(market: Market, project: str) -> None:
    aggregator = market.contracts(AGGREGATOR).market
    aggregator.start_project(int(project), aggregator.project(int(project)).params
                             .aggregator_bond_wei)


def test_withdraw_leaves_a_cancelled_project_and_returns_the_stake(market: Market) -> None:
    project = _project(market)
    _trainer_joins(market, 6, project)
    ok("project", "cancel", project, "--data-dir", market.data_dir)

    paid = ok("trainer", "withdraw", "--account", "6", "--data-dir", market.data_dir)

    assert paid["stake_wei"] == str(STAKE) and paid["left_projects"] == [int(project)]
    assert market.contracts(6).registry.stake_of(0) == 0


def test_a_running_project_binds_the_stake_until_it_finishes_then_one_withdraw_frees_it(
        market: Market) -> None:
    project = _project(market)
    _trainer_joins(market, 7, project)
    _bond(market, project)

    bound = refused("trainer", "withdraw", "--account", "7", "--data-dir", market.data_dir)
    market.travel(COMMIT_S + REVEAL_S + 10)
    market.contracts(OWNER).market.advance(int(project))  # no reveals: refunded
    ok("project", "finish", project, "--data-dir", market.data_dir)
    paid = ok("trainer", "withdraw", "--account", "7", "--data-dir", market.data_dir)
    bond = ok("project", "finish", project, "--account", str(AGGREGATOR),
              "--data-dir", market.data_dir)

    assert f"still bound by project {project} (running, round 1 of 1)" in bound
    assert paid["stake_wei"] == str(STAKE) and paid["left_projects"] == [int(project)]
    assert bond["status"] == "finished" and bond["withdrawn_wei"] == str(10**18)


def test_project_show_reports_a_refunded_round_with_its_reason_not_as_paid(
        market: Market) -> None:
    project = _project(market)
    _trainer_joins(market, 8, project)
    _bond(market, project)
    market.travel(COMMIT_S + REVEAL_S + 10)
    market.contracts(OWNER).market.advance(int(project))

    shown = ok("project", "show", project, "--data-dir", market.data_dir)
    lines = text("project", "show", project, "--data-dir", market.data_dir)

    round_1 = shown["rounds_detail"][0]
    assert round_1["status"] == "refunded" and round_1["paid"] is False
    assert round_1["refund_reason"] == "not_enough_trainers" and round_1["paid_wei"] == "0"
    assert "refunded: nothing paid" in lines and "fewer trainers revealed" in lines
    assert "paid 0" not in lines


def test_a_trainer_started_after_the_commit_deadline_says_why_and_fails(market: Market) -> None:
    project = _project(market)
    _trainer_joins(market, 9, project)
    _bond(market, project)
    market.travel(COMMIT_S + 10)

    message = refused("trainer", "run", project, "--data", "digits", "--account", "9",
                      "--timeout", "120", "--data-dir", market.data_dir, notes=True)

    assert f"submitted nothing to project {project}" in message
    assert "round 1's commit window closed at" in message and "too late" in message


def test_finishing_a_running_project_too_early_is_a_sentence(market: Market) -> None:
    project = _project(market)
    _bond(market, project)

    message = refused("project", "finish", project, "--data-dir", market.data_dir)

    assert message == (f"error: project {project} cannot be finished yet: it is in round 1 of "
                       "1 (phase commit) and finishes once its last round closes "
                       "[FedMarketRoundsRemain]")


def test_unknown_projects_are_sentences_for_every_role(market: Market) -> None:
    ok("trainer", "register", "--account", "5", "--data-dir", market.data_dir)
    commands = [["trainer", "join", "99", "--account", "5"], ["claim", "99"],
                ["aggregator", "run", "99"], ["project", "finish", "99"]]

    messages = {refused(*c, "--data-dir", market.data_dir) for c in commands}

    assert messages == {"error: project 99 does not exist [FedMarketUnknownProject]"}



def test_a_verifier_joins_nothing_and_withdraws_its_stake_in_one_command(market: Market) -> None:
    ok("verifier", "register", "--account", "4", "--data-dir", market.data_dir)
    result = runner.invoke(app, ["verifier", "join", "1", "--account", "4",
                                 "--data-dir", market.data_dir])
    assert result.exit_code == 2 and "No such command 'join'" in result.output

    paid = ok("verifier", "withdraw", "--account", "4", "--data-dir", market.data_dir)

    assert paid["stake_wei"] == str(5 * STAKE)  # the verifier's default 0.5 ETH stake
    assert paid["left_projects"] == []
