"""Stateful property test: random call sequences by owner, aggregator, verifiers, trainers.

After every step each contract's balance equals what it owes, ether is conserved (in minus out
equals what the three contracts hold), a project never spends more than its budget, and no
reward leaf is paid twice and only to a trainer who revealed in that round. The flows of the
committee market are all reachable: committee votes with fees and slashing, seat release,
slashed-bond compensation and its burn, expiry of unclaimed rewards back to the owner.
``HYPOTHESIS_PROFILE=thorough`` runs many more, longer sequences.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from web3.types import TxReceipt

from fedmarket.chain.types import (
    Membership,
    ParticipantKind,
    ProjectStatus,
    RewardClaim,
    RoundPhase,
    SubmissionStatus,
)
from fedmarket.errors import ContractRevert
from tests.contracts.scenario import (
    AGGREGATOR,
    ETHER,
    OWNER,
    RewardTree,
    Scenario,
    cid_for,
    increase_time,
    reward_tree,
    salt_for,
    travel_past,
)

TRAINERS = (6, 7, 8, 9)
VERIFIERS = (3, 4, 5)
PAYEES = (OWNER, AGGREGATOR, *TRAINERS, *VERIFIERS)
# Outcome counts of every attempted call: shown with FEDMARKET_STATEFUL_STATS=1 (coverage check).
STATS: Counter[str] = Counter()

# `make test` runs 50 sequences of 30 calls (about 80 s here: short sequences rarely reach a
# finalized round, so length buys more than count); HYPOTHESIS_PROFILE=thorough
# runs 300 of 60 on demand.
settings.register_profile(
    "contracts-default", max_examples=int(os.environ.get("FEDMARKET_STATEFUL_EXAMPLES", "50")),
    stateful_step_count=30, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile(
    "contracts-thorough", max_examples=int(os.environ.get("FEDMARKET_STATEFUL_EXAMPLES", "300")),
    stateful_step_count=60, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _profile() -> settings:
    name = os.environ.get("HYPOTHESIS_PROFILE", "default")
    return settings.get_profile("contracts-thorough" if name == "thorough"
                                else "contracts-default")


class MarketMachine(RuleBasedStateMachine):
    """Drives one deployment; `sc` is set by the test before the machine runs."""

    sc: Scenario

    def __init__(self) -> None:
        super().__init__()
        w3 = self.sc.w3
        self.snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        self.projects: list[int] = []
        self.trees: dict[tuple[int, int], RewardTree] = {}
        self.settled: set[tuple[int, int, str]] = set()
        self.escrow_returned: dict[int, int] = defaultdict(int)
        self.funded: dict[tuple[int, int], int] = {}  # posted totals of finalized rounds
        self.claimed: dict[tuple[int, int], int] = defaultdict(int)
        # Mirrors of chain state, kept from events so steps need no extra reads.
        self.members: dict[tuple[int, int], Membership] = {}
        self.subs: dict[tuple[int, int, int], SubmissionStatus] = {}
        self.votes: set[tuple[int, int, int]] = set()
        # Ether that entered or left a project's escrow other than by funding or return.
        self.fees: dict[int, int] = defaultdict(int)  # verification fees paid out of escrow
        self.penalties: dict[int, int] = defaultdict(int)  # released seats' penalties into it
        self.compensation: dict[tuple[int, int], int] = {}  # open slashed-bond compensation
        self.index = {self.sc.address(i): i for i in PAYEES}
        self.deposits = 0
        self.paid = 0
        self.base = self._held()

    def teardown(self) -> None:
        self.sc.w3.provider.make_request("evm_revert", [self.snapshot])  # type: ignore[arg-type]

    # -- plumbing

    def _held(self) -> int:
        c = self.sc.actor(0)
        return sum(self.sc.balance(a) for a in (c.market.address, c.rewards.address,
                                                c.registry.address))

    def _try(self, fn: Callable[..., Any], *args: Any, value: int = 0, **kwargs: Any) -> Any:
        name = getattr(fn, "__name__", "call")
        try:
            result = fn(*args, **kwargs)
        except ContractRevert as exc:
            STATS[f"{name} refused: {exc.name}"] += 1
            return None
        STATS[f"{name} ok"] += 1
        self.deposits += value
        if hasattr(result, "get"):  # a receipt (post_project returns the id instead)
            self._track(result)
        return result

    def _track(self, receipt: TxReceipt) -> None:
        c = self.sc.actor(0)
        for e in c.market.contract.events("Withdrawn", receipt):
            self.paid += int(e["amount"])
        for e in c.market.contract.events("Credited", receipt):
            if int(e["reason"]) == 0:  # EscrowReturned
                self.escrow_returned[int(e["project"])] += int(e["amount"])
        for e in c.registry.contract.events("StakeWithdrawn", receipt):
            self.paid += int(e["amount"])
        slashed: dict[tuple[int, int], int] = defaultdict(int)
        for e in c.market.contract.events("VerifierSlashed", receipt):
            slashed[(int(e["project"]), int(e["round"]))] += int(e["amount"])
        for e in c.market.contract.events("VotesSettled", receipt):
            key = (int(e["project"]), int(e["round"]))
            if int(e["verdict"]):
                self.fees[key[0]] += int(e["paid"]) - slashed[key]
        for e in c.market.contract.events("SeatReleased", receipt):
            self.penalties[int(e["project"])] += int(e["penalty"])
        for e in c.market.contract.events("CompensationOpened", receipt):
            self.compensation[(int(e["project"]), int(e["round"]))] = int(e["total"])
        for e in c.market.contract.events("CompensationBurned", receipt):
            self.paid += int(e["amount"])
        for e in c.rewards.contract.events("RewardClaimed", receipt):
            leaf = (int(e["project"]), int(e["round"]), str(e["trainer"]))
            assert leaf not in self.settled, f"leaf {leaf} paid twice"
            trainer = self.index.get(leaf[2])
            assert trainer is not None and self.subs.get((leaf[0], leaf[1], trainer)) \
                == SubmissionStatus.REVEALED, f"leaf {leaf} paid to a non-revealer"
            self.settled.add(leaf)
            self.paid += int(e["amount"])
            self.claimed[leaf[:2]] += int(e["amount"])
        for e in c.market.contract.events("RoundFinalized", receipt):
            self.funded[(int(e["project"]), int(e["round"]))] = int(e["totalRewarded"])
        for e in c.market.contract.events("Joined", receipt):
            self.members[(int(e["project"]), self.index[e["account"]])] = Membership(
                e["membership"])
        for e in c.market.contract.events("Left", receipt):
            self.members.pop((int(e["project"]), self.index[e["account"]]), None)
        for name, status in (("UpdateCommitted", SubmissionStatus.COMMITTED),
                             ("UpdateRevealed", SubmissionStatus.REVEALED)):
            for e in c.market.contract.events(name, receipt):
                self.subs[(int(e["project"]), int(e["round"]),
                           self.index[e["trainer"]])] = status
        for e in c.market.contract.events("Attested", receipt):
            self.votes.add((int(e["project"]), int(e["round"]), self.index[e["verifier"]]))

    def _project(self, ix: int) -> int:
        return self.projects[ix % len(self.projects)]

    # -- rules

    @precondition(lambda self: len(self.projects) < 2)
    @rule(halves=st.integers(1, 6), rounds=st.integers(1, 3), quorum=st.integers(1, 2),
          committee=st.integers(1, 3), fee_bps=st.sampled_from([0, 333, 1_000, 5_000]),
          min_trainers=st.integers(1, 2), bonded=st.booleans())
    def post(self, halves: int, rounds: int, quorum: int, committee: int, fee_bps: int,
             min_trainers: int, bonded: bool) -> None:
        budget = halves * ETHER // 2
        params = self.sc.params(rounds=rounds, verifier_quorum=min(quorum, committee),
                                committee_size=committee, verifier_fee_bps=fee_bps,
                                min_trainers=min_trainers, aggregator_bond_wei=ETHER * bonded)
        project = self._try(self.sc.actor(OWNER).market.post_project, params, budget,
                            value=budget)
        if project is not None:
            self.projects.append(project)
            # _try saw an int, not a receipt: nothing else to track for a post.

    @precondition(lambda self: self.projects)
    @rule(ix=st.integers(0, 1), steps=st.integers(1, 4), pick=st.integers(0, 7),
          agree=st.sampled_from([True, True, True, False]),
          tenths=st.lists(st.integers(0, 6), min_size=4, max_size=4), lie=st.booleans())
    def progress(self, ix: int, steps: int, pick: int, agree: bool, tenths: list[int],
                 lie: bool) -> None:
        """Take the protocol's next sensible step(s), as honest participants would."""
        for _ in range(steps):
            self._step(self._project(ix), pick, agree, tenths, lie)

    @precondition(lambda self: self.projects)
    @rule(ix=st.integers(0, 1), steps=st.integers(1, 4), pick=st.integers(0, 7))
    def progress_honestly(self, ix: int, steps: int, pick: int) -> None:
        """A second entry, so the honest protocol makes progress amid the noise."""
        for _ in range(steps):
            self._step(self._project(ix), pick, True, [3, 2, 1, 0], False)

    def _ensure_registered(self, who: int) -> None:
        kind = ParticipantKind.TRAINER if who in TRAINERS else ParticipantKind.VERIFIER
        registry = self.sc.actor(who).registry
        if registry.stake_of(kind) == 0:
            stake = registry.min_stake(kind)
            self._try(registry.register, kind, stake, value=stake)

    def _wrap_up(self, project: int, pick: int) -> None:
        """After the end: a trainer settles its leaves, someone withdraws, someone leaves."""
        trainer = TRAINERS[pick % len(TRAINERS)]
        address = self.sc.address(trainer)
        claims = [RewardClaim(t.project, t.round, t.amounts[address], t.proof(address))
                  for key, t in self.trees.items() if key[0] == project
                  and key in self.funded and address in t.amounts
                  and (key[0], key[1], address) not in self.settled]
        if claims:
            self._try(self.sc.actor(trainer).rewards.claim_many, claims)
        payee = self.sc.actor(PAYEES[pick % len(PAYEES)]).market
        if payee.credit_of() > 0:
            self._try(payee.contract.transact, "withdraw")
        if (project, trainer) in self.members:
            self._try(self.sc.actor(trainer).market.leave, project)

    def _submit_result(self, project: int, tenths: list[int], lie: bool) -> None:
        market = self.sc.actor(0).market
        round_ = market.project(project).current_round
        pool = market.round(project, round_).pool_wei
        amounts = {self.sc.address(t): pool * k // 10 for t, k in zip(TRAINERS, tenths,
                                                                       strict=True)
                   if market.submission(project, round_, self.sc.address(t))
                   == SubmissionStatus.REVEALED}
        if not amounts:
            return
        tree = reward_tree(project, round_, amounts)
        if lie:  # leaves may sum past the posted total: claims must still stop at the total
            tree.posted_total = min(tree.total, pool) // 2
        if self._try(self.sc.post_tree, tree) is not None:
            self.trees[(project, round_)] = tree

    def _step(self, project: int, pick: int, agree: bool, tenths: list[int], lie: bool) -> None:
        market, sc = self.sc.actor(0).market, self.sc
        info = market.project(project)
        members = {i: self.members.get((project, i), Membership.NONE)
                   for i in TRAINERS + VERIFIERS}
        trainers = [i for i in TRAINERS if members[i] == Membership.TRAINER]
        if info.status == ProjectStatus.CREATED:
            outside = [i for i in TRAINERS if members[i] == Membership.NONE]
            if len(trainers) >= 2 or not outside:
                bond = info.params.aggregator_bond_wei
                self._try(sc.actor(AGGREGATOR).market.start_project, project, bond, value=bond)
                return
            who = outside[pick % len(outside)]
            self._ensure_registered(who)
            self._try(sc.actor(who).market.join_as_trainer, project)
            return
        if info.status != ProjectStatus.RUNNING:
            self._wrap_up(project, pick)
            return
        round_ = info.current_round
        phase = market.phase(project, round_)
        STATS[f"phase {phase.name}"] += 1
        deadlines = market.deadlines(project, round_)
        status = {i: self.subs.get((project, round_, i), SubmissionStatus.NONE)
                  for i in trainers}
        if phase == RoundPhase.COMMIT:
            todo = [i for i in trainers if status[i] == SubmissionStatus.NONE]
            if todo and pick % 5:  # now and then a trainer stays silent
                who = todo[pick % len(todo)]
                self._try(sc.actor(who).market.commit_update, project, round_,
                          cid_for(who, round_), salt_for(who, round_))
            elif todo and pick % 2:  # a no-show's seat is released once commits are over
                travel_past(sc.w3, deadlines.commit)
                self._try(sc.actor(pick % 20).market.release, project,
                          sc.address(todo[pick % len(todo)]))
            else:
                travel_past(sc.w3, deadlines.commit)
        elif phase == RoundPhase.REVEAL:
            todo = [i for i in trainers if status[i] == SubmissionStatus.COMMITTED]
            if todo and pick % 6:
                who = todo[pick % len(todo)]
                self._try(sc.actor(who).market.reveal, project, round_, cid_for(who, round_),
                          salt_for(who, round_))
            else:
                travel_past(sc.w3, deadlines.reveal)
        elif phase == RoundPhase.AGGREGATE:
            if pick == 7:  # a silent aggregator
                travel_past(sc.w3, deadlines.result)
            else:
                self._submit_result(project, tenths, lie)
        elif phase == RoundPhase.VERIFY:
            todo = [i for i in VERIFIERS if (project, round_, i) not in self.votes
                    and market.on_committee(project, round_, sc.address(i))]
            if todo and pick % 4:
                who = todo[pick % len(todo)]
                self._try(sc.actor(who).market.attest, project, round_, agree, "bafkreireport")
            else:
                travel_past(sc.w3, deadlines.verify)
        elif phase == RoundPhase.EXPIRED:
            self._try(sc.actor(9).market.advance, project)
        else:
            self._try(sc.actor(OWNER).market.finish, project)

    @precondition(lambda self: self.projects)
    @rule(ix=st.integers(0, 1), who=st.sampled_from(PAYEES), action=st.sampled_from(
        ["start", "cancel", "join", "commit", "reveal_wrong", "attest", "advance", "finalize",
         "finish"]))
    def noise(self, ix: int, who: int, action: str) -> None:
        """Any actor tries any call at any time: most are refused, none may break the books."""
        project = self._project(ix)
        market = self.sc.actor(who).market
        round_ = self.sc.actor(0).market.project(project).current_round
        if action == "start":
            self._try(market.start_project, project, ETHER, value=ETHER)
        elif action == "cancel":
            self._try(market.cancel_project, project)
        elif action == "join":
            self._try(market.join_as_trainer, project)
        elif action == "commit":
            self._try(market.commit_update, project, round_, cid_for(who, round_),
                      salt_for(who, round_))
        elif action == "reveal_wrong":
            self._try(market.reveal, project, round_, "bafkreicopycat", salt_for(who, round_))
        elif action == "attest":
            self._try(market.attest, project, round_, False, "bafkreireport")
        else:
            self._try(getattr(market, action), project)

    @rule(seconds=st.sampled_from([300, 1_100, 2_100]))
    def travel(self, seconds: int) -> None:
        increase_time(self.sc.w3, seconds)

    @precondition(lambda self: self.funded or self.compensation)
    @rule(now=st.integers(0, 3))
    def travel_past_claim_window(self, now: int) -> None:
        """Let every open claim expire (the deployment's window is 30 days); rarely."""
        if now == 0:
            increase_time(self.sc.w3, self.sc.actor(0).rewards.claim_window() + 1)

    @precondition(lambda self: self.funded)
    @rule(key=st.integers(0, 5), caller=st.sampled_from(PAYEES))
    def reclaim_expired(self, key: int, caller: int) -> None:
        project, round_ = list(self.funded)[key % len(self.funded)]
        self._try(self.sc.actor(caller).rewards.reclaim_expired, project, round_)

    @precondition(lambda self: self.compensation)
    @rule(key=st.integers(0, 5), who=st.sampled_from(TRAINERS + VERIFIERS), burn=st.booleans())
    def compensation_claim_or_burn(self, key: int, who: int, burn: bool) -> None:
        project, round_ = list(self.compensation)[key % len(self.compensation)]
        market = self.sc.actor(who).market
        if burn:
            self._try(market.burn_expired_compensation, project, round_)
        else:
            self._try(market.contract.transact, "claimCompensation", project, round_)

    @precondition(lambda self: self.projects)
    @rule(ix=st.integers(0, 1), caller=st.sampled_from(PAYEES),
          trainer=st.sampled_from(TRAINERS))
    def release_anyone(self, ix: int, caller: int, trainer: int) -> None:
        self._try(self.sc.actor(caller).market.release, self._project(ix),
                  self.sc.address(trainer))

    @precondition(lambda self: self.trees)
    @rule(key=st.integers(0, 5), trainer=st.sampled_from(TRAINERS), caller=st.sampled_from(
        PAYEES))
    def claim(self, key: int, trainer: int, caller: int) -> None:
        tree = list(self.trees.values())[key % len(self.trees)]
        address = self.sc.address(trainer)
        if address not in tree.amounts:
            return
        self._try(self.sc.actor(caller).rewards.claim, tree.project, tree.round,
                  tree.amounts[address], tree.proof(address), trainer=address)

    @precondition(lambda self: self.trees)
    @rule(trainer=st.sampled_from(TRAINERS))
    def claim_many(self, trainer: int) -> None:
        address = self.sc.address(trainer)
        claims = [RewardClaim(t.project, t.round, t.amounts[address], t.proof(address))
                  for t in self.trees.values() if address in t.amounts]
        if claims:
            self._try(self.sc.actor(trainer).rewards.claim_many, claims)

    @rule(who=st.sampled_from(VERIFIERS))
    def register_verifier(self, who: int) -> None:
        """A verifier who unstaked comes back (its new pool position only counts next round)."""
        self._ensure_registered(who)

    @rule(who=st.sampled_from(PAYEES))
    def withdraw(self, who: int) -> None:
        self._try(self.sc.actor(who).market.contract.transact, "withdraw")

    @precondition(lambda self: self.projects)
    @rule(ix=st.integers(0, 1), who=st.sampled_from(TRAINERS + VERIFIERS), unstake=st.booleans())
    def leave(self, ix: int, who: int, unstake: bool) -> None:
        self._try(self.sc.actor(who).market.leave, self._project(ix))
        if unstake:
            kind = ParticipantKind.TRAINER if who in TRAINERS else ParticipantKind.VERIFIER
            self._try(self.sc.actor(who).registry.contract.transact, "withdraw", int(kind))

    # -- invariants

    @invariant()
    def books_balance(self) -> None:
        """Balances equal what is owed; ether is conserved; no project overspends."""
        self.sc.assert_solvent()
        assert self._held() == self.base + self.deposits - self.paid
        for key, claimed in self.claimed.items():
            assert claimed <= self.funded[key], f"round {key} paid past its posted total"
        market = self.sc.actor(0).market
        escrow_total = 0
        for project in self.projects:
            info = market.project(project)
            funded = sum(t for (p, _), t in self.funded.items() if p == project)
            assert (info.escrow_wei + funded + self.escrow_returned[project] + self.fees[project]
                    == info.budget_wei + self.penalties[project])
            if info.status in (ProjectStatus.CREATED, ProjectStatus.RUNNING):
                escrow_total += info.escrow_wei
            else:
                assert info.escrow_wei == 0
        assert market.contract.call("totalEscrow") == escrow_total


# A fixed amount of work (the profile's sequences x calls), ~150 s on a quiet 2-core machine and
# over 300 s with other jobs beside it: the limit only stops a hang, so it is a wide margin.
@pytest.mark.timeout(1500)
def test_random_call_sequences_keep_contracts_solvent(sc: Scenario) -> None:
    sc.register(TRAINERS, ParticipantKind.TRAINER)
    sc.register(VERIFIERS, ParticipantKind.VERIFIER)
    MarketMachine.sc = sc
    run_state_machine_as_test(MarketMachine, settings=_profile())
    if os.environ.get("FEDMARKET_STATEFUL_STATS"):
        for line, count in sorted(STATS.items()):
            print(f"{count:6d}  {line}")
