"""One sentence per contract custom error, filled with its decoded arguments.

A user who types ``fedmarket project finish 5`` too early should read "project 5 cannot be
finished yet: it is in round 1 of 2 (phase commit) …", not ``FedMarketRoundsRemain(5, 1, 2,
4)``. :data:`MESSAGES` maps every custom error of ``contracts/`` (and of the OpenZeppelin
contracts they inherit) to a template whose fields are the error's ABI argument names:

* ``{name}`` — the value as is (addresses checksummed, ``bytes32`` as hex, enums by name:
  ``phase`` 4 of type ``enum IFedMarket.RoundPhase`` reads ``verify``);
* ``{name:eth}`` — a wei amount shown in ether (``0.5 ETH``);
* ``{name:time}`` — a unix time of the chain's clock shown in UTC.

Adding a custom error to a contract means adding its sentence here: ``tests/cli/
test_error_messages.py`` fails for every error of the compiled ABIs without one, and for every
template naming a field the error does not have.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from fedmarket.chain.errors_abi import ErrorParam, error_params
from fedmarket.chain.types import (
    Membership,
    ParticipantKind,
    ProjectStatus,
    RoundPhase,
    RoundStatus,
)
from fedmarket.errors import ChainError, ContractRevert
from fedmarket.units import wei_to_ether

__all__ = ["MESSAGES", "ENUMS", "describe_revert"]

#: Solidity enums that appear in error arguments, by the last part of their internal type.
ENUMS: dict[str, type[IntEnum]] = {
    "RoundPhase": RoundPhase,
    "ProjectStatus": ProjectStatus,
    "RoundStatus": RoundStatus,
    "Membership": Membership,
    "Kind": ParticipantKind,
}

_TRANSFER = "sending {amount:eth} to {to} failed: the receiving account refused the ether"

MESSAGES: dict[str, str] = {
    # -- ParticipantRegistry
    "RegistryAlreadyRegistered": "{account} is already registered as a {kind}; registering "
                                 "again with a stake tops it up",
    "RegistryNotRegistered": "{account} is not registered as a {kind}: run `fedmarket {kind} "
                             "register` first",
    "RegistryStakeTooLow": "a {kind} stake of {sent:eth} is below the minimum of {minimum:eth}",
    "RegistryZeroTopUp": "a top-up of 0 ETH changes nothing for {kind} {account}",
    "RegistryStakeLocked": "the {kind} stake of {account} is still bound to {bindings} open "
                           "project(s): it can be withdrawn once they end",
    "RegistryNotBound": "{account} holds no project binding as a {kind}",
    "RegistryTransferFailed": _TRANSFER,
    # -- OpenZeppelin AccessControl / ReentrancyGuard
    "AccessControlUnauthorizedAccount": "{account} lacks the role {neededRole} that this call "
                                        "needs (only the market's own contracts may make it)",
    "AccessControlBadConfirmation": "renouncing a role needs the caller's own address as "
                                    "confirmation",
    "ReentrancyGuardReentrantCall": "a re-entrant call into the contract was refused",
    # -- RewardDistributor
    "DistributorAlreadyClaimed": "the reward of {trainer} for project {project} round {round} "
                                 "was already claimed",
    "DistributorEmptyClaim": "the claim names no round to claim",
    "DistributorEmptyRoot": "project {project} round {round} has no rewards root to claim "
                            "against",
    "DistributorFundingMismatch": "funding project {project} round {round} needs exactly "
                                  "{total:eth}, not {sent:eth}",
    "DistributorInvalidProof": "a reward of {amount:eth} for {trainer} is not in the rewards "
                               "tree of project {project} round {round} (wrong proof or amount)",
    "DistributorRoundAlreadyFunded": "project {project} round {round} is already funded",
    "DistributorRoundNotFunded": "project {project} round {round} has no funded rewards: it "
                                 "was not finalized",
    "DistributorRoundOverclaimed": "paying {amount:eth} would take project {project} round "
                                   "{round} past its {total:eth} of rewards ({claimed:eth} "
                                   "claimed so far)",
    "DistributorTransferFailed": _TRANSFER,
    # -- FedMarket: projects and membership
    "FedMarketInvalidParams": "the market refused the project's parameters: {reason}",
    "FedMarketUnknownProject": "project {project} does not exist",
    "FedMarketWrongProjectStatus": "project {project} is {status}, but this needs it to be "
                                   "{expected}",
    "FedMarketNotOwner": "{account} is not the owner of project {project} (that is {owner})",
    "FedMarketNotAggregator": "{account} is not the aggregator of project {project} (that is "
                              "{aggregator}): act with the aggregator's --account or --key-file",
    "FedMarketWrongBond": "project {project} needs an aggregator bond of exactly {bond:eth}, "
                          "not {sent:eth}",
    "FedMarketAlreadyJoined": "{account} already takes part in project {project} as a "
                              "{membership}",
    "FedMarketProjectFull": "project {project} is full: it takes at most {maxTrainers} trainers",
    "FedMarketReputationTooLow": "the reputation of {trainer} ({score}) is below the minimum "
                                 "of {minimum} that project {project} asks",
    "FedMarketConflictOfInterest": "{account} cannot take this part in project {project}: it "
                                   "is the project's aggregator or owner",
    "FedMarketNotMember": "{account} is not a member of project {project}",
    "FedMarketProjectActive": "project {project} is still {status}: its members can leave "
                              "only after it ends",
    "FedMarketNotTrainer": "{account} is not a trainer of project {project}: run `fedmarket "
                           "trainer join {project}` first",
    "FedMarketJoinedTooLate": "{trainer} joined project {project} during round {round}: it may "
                              "commit from round {firstRound}, when the next round starts",
    "FedMarketSeatNotReleasable": "the seat of {trainer} in project {project} cannot be "
                                  "released now (phase {phase}): only a trainer who was due in "
                                  "the current round and did not commit once commits are over",
    "FedMarketWasReleased": "{trainer} was released from project {project} for not committing "
                            "and may not rejoin it",
    "FedMarketPhaseTooShort": "a phase of {duration} s is shorter than this deployment's floor "
                              "of {minimum} s: every party must be able to act in every phase",
    "FedMarketTooFewVerifiers": "only {registered} verifiers are registered but each round "
                                "needs a committee of {committeeSize}: register more verifiers "
                                "or ask for a smaller committee",
    "FedMarketNotOnCommittee": "{account} is not on the committee drawn for project {project} "
                               "round {round} (only verifiers registered when the round started, "
                               "and no party of the project, are drawn)",
    "FedMarketNoCompensation": "{account} has no compensation to take in project {project} "
                               "round {round} (only a trainer who revealed in a round whose "
                               "aggregator was slashed, once)",
    "FedMarketCompensationExpired": "the compensation of project {project} round {round} "
                                    "expired at {expiredAt:time}",
    "FedMarketCompensationOpen": "the compensation of project {project} round {round} may be "
                                 "claimed until {expiresAt:time}; it can be burned only after",
    "FedMarketUnexpectedEther": "{sender} sent {amount:eth} that the market does not take",
    "FedMarketNotDistributor": "only the reward distributor may settle reward leaves, not "
                               "{caller}",
    # -- FedMarket: rounds
    "FedMarketNotCurrentRound": "round {round} is not the current round of project {project} "
                                "(that is round {currentRound})",
    "FedMarketInvalidCommitment": "the commitment {commitment} is not a valid commitment",
    "FedMarketCommitClosed": "the commit window of project {project} round {round} closed at "
                             "{deadline:time} (it is now {time:time})",
    "FedMarketAlreadyCommitted": "{trainer} already committed an update to project {project} "
                                 "round {round}",
    "FedMarketRevealNotOpen": "project {project} round {round} is not in its reveal phase "
                              "(it is in phase {phase})",
    "FedMarketRevealLate": "the reveal window of project {project} round {round} closed at "
                           "{deadline:time} (it is now {time:time})",
    "FedMarketNoCommitment": "{trainer} made no commitment in project {project} round {round}, "
                             "so there is nothing to reveal",
    "FedMarketAlreadyRevealed": "{trainer} already revealed its update for project {project} "
                                "round {round}",
    "FedMarketRevealMismatch": "the update {trainer} revealed for project {project} round "
                               "{round} does not match its commitment",
    "FedMarketResultNotOpen": "project {project} round {round} takes no result now (it is in "
                              "phase {phase})",
    "FedMarketResultLate": "the result deadline of project {project} round {round} passed at "
                           "{deadline:time} (it is now {time:time})",
    "FedMarketTooFewReveals": "project {project} round {round} has {reveals} revealed "
                              "update(s), fewer than its minimum of {minimum}: it will be "
                              "refunded",
    "FedMarketRewardExceedsPool": "a result paying {total:eth} exceeds the {pool:eth} pool of "
                                  "project {project} round {round}",
    "FedMarketEmptyRewardsRoot": "a result paying {totalRewarded:eth} needs a rewards root "
                                 "(project {project} round {round})",
    "FedMarketAttestNotOpen": "project {project} round {round} takes no attestation now (it is "
                              "in phase {phase})",
    "FedMarketAlreadyAttested": "{verifier} already attested project {project} round {round}",
    "FedMarketNotFinalizable": "project {project} round {round} cannot be finalized now: it is "
                               "in phase {phase} with {agrees} of {quorum} agreeing verifiers",
    "FedMarketNothingToAdvance": "project {project} round {round} has no passed deadline to act "
                                 "on yet (it is in phase {phase})",
    "FedMarketRoundsRemain": "project {project} cannot be finished yet: it is in round "
                             "{currentRound} of {rounds} (phase {phase}) and finishes once its "
                             "last round closes",
    "FedMarketNothingToWithdraw": "nothing is credited to {account}",
    "FedMarketRoundUnproven": "the result of project {project} round {round} claimed a proof "
                              "that is not verified yet; it may be until {deadline:time}",
    "FedMarketProofMissing": "the verify window of project {project} round {round} closed "
                             "without its claimed proof: advance disputes the round",
    "FedMarketTransferFailed": _TRANSFER,
    # -- RoundProofs: payout proofs
    "ProofsNoVerifier": "this deployment has no payout proof verifier of circuit size {size}",
    "ProofsBadVerifierSizes": "the payout verifiers and their sizes do not match one to one "
                              "(each size once, between 1 and 256)",
    "ProofsRejected": "the proof for project {project} round {round} does not verify",
    "ProofsNonCanonical": "the proof for project {project} round {round} has a coordinate or "
                          "input that is not below its field modulus (only canonical "
                          "encodings count)",
    "ProofsRoundNotPosted": "project {project} round {round} has no result awaiting its verdict",
    "ProofsWindowClosed": "the verify window of project {project} round {round} closed at "
                          "{deadline:time}: its claimed proof can no longer be submitted",
    "ProofsAlreadyVerified": "the proof of project {project} round {round} is already verified",
    "ProofsNoClaim": "the result of project {project} round {round} claims no proof",
    "ProofsClaimMismatch": "this proof is not the one the result of project {project} round "
                           "{round} claims ({given} given, {claimed} claimed)",
    "ProofsRoundTooLarge": "the round has {reveals} revealed trainers, more than the proof's "
                           "circuit size {size}",
    "ProofsWrongSlotCount": "the payout has {slots} slots but the round has {reveals} revealed "
                            "trainers",
    "ProofsSlotsNotAscending": "payout slot {slot}'s trainer is not above the previous slot's "
                               "(slots go in strictly ascending address order)",
    "ProofsStrayAcceptedBits": "the accepted bitmap {acceptedBits} has bits beyond its {slots} "
                               "slots",
    "ProofsTotalMismatch": "the payout's amounts sum to {sum:eth}, not the posted total "
                           "{posted:eth}",
    "ProofsNotALeaf": "tree order position {position} names slot {slot}, which has no rewards "
                      "leaf",
    "ProofsTreeOrderNotAscending": "the leaf at tree order position {position} does not hash "
                                   "above the previous one",
    "ProofsLeafCount": "the tree order lists {listed} leaves but {expected} slots have one",
    "ProofsRewardsRootMismatch": "the payout rebuilds rewards root {rebuilt}, not the posted "
                                 "{posted}",
    "ProofsGasTooLow": "verifying the proof needs {needed} gas but only {gasLeft} was left: "
                       "raise the transaction's gas limit",
    # -- RewardDistributor: expiry and payees
    "DistributorNotARoundTrainer": "{trainer} did not reveal an update in project {project} "
                                   "round {round}: a reward leaf pays only the round's trainers",
    "DistributorClaimExpired": "the rewards of project {project} round {round} expired at "
                               "{expiredAt:time}; the rest went back to the owner",
    "DistributorClaimWindowOpen": "the rewards of project {project} round {round} may be "
                                  "claimed until {expiresAt:time}; only then can the rest be "
                                  "returned",
    "DistributorNothingToReclaim": "nothing is left to return for project {project} round "
                                   "{round}",
    "RegistrySlashTooLarge": "cannot slash {amount:eth} from the {kind} stake of {account}: it "
                             "holds {stake:eth}",
}

# Solidity's own errors and what errors_abi reports when it cannot name one.
_BUILTIN: dict[str, str] = {
    "Error": "the contract refused the call: {0}",
    "Panic": "the contract failed ({0})",
    "Reverted": "the contract refused the call without giving a reason",
    "UnknownError": "the contract refused the call with an error this version of fedmarket "
                    "does not know ({0})",
}


class _Formatter(string.Formatter):
    """``{x:eth}`` shows wei as ether, ``{x:time}`` a chain timestamp in UTC."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "eth":
            return f"{wei_to_ether(int(value))} ETH"
        if format_spec == "time":
            return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return super().format_field(value, format_spec)


_FORMAT = _Formatter()


def _render(value: Any, param: ErrorParam) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if param.internal_type.startswith("enum ") and isinstance(value, int):
        enum = ENUMS.get(param.internal_type.rsplit(".", 1)[-1])
        if enum is not None and value in enum._value2member_map_:
            return enum(value).name.lower().replace("_", " ")
    return value


def _named_args(revert: ContractRevert) -> Mapping[str, Any] | None:
    try:
        params = error_params().get(revert.name)
    except ChainError:  # no compiled contracts here: fall back to the raw form
        return None
    if params is None or len(params) != len(revert.args_decoded):
        return None
    return {p.name: _render(v, p) for p, v in zip(params, revert.args_decoded, strict=True)}


def describe_revert(revert: ContractRevert) -> str:
    """The sentence for a decoded contract error, its error name in brackets at the end.

    Falls back to the raw ``Name(args)`` form for an error without a sentence (a contract
    newer than this table), so nothing is ever hidden.
    """
    template = MESSAGES.get(revert.name)
    try:
        if template is not None:
            args = _named_args(revert)
            if args is not None:
                return f"{_FORMAT.format(template, **args)} [{revert.name}]"
        elif revert.name in _BUILTIN:
            rendered = [("0x" + a.hex()) if isinstance(a, bytes) else a
                        for a in revert.args_decoded]
            return _FORMAT.format(_BUILTIN[revert.name], *rendered)
    except (KeyError, IndexError, ValueError):  # a template out of step with the ABI
        pass
    return str(revert)
