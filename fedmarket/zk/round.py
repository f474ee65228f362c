"""From a published round result to the statement of its payout proof, and to its claim.

Shared by the aggregator (which proves), anyone else who proves (every input is in the
result) and the auditor (which re-derives the public inputs), so all build the very same
slots from the same bytes:

- slots are the result's trainers in its (canonical, ascending address) order, one per
  revealed update, so ``nActive`` is the round's on-chain reveal count;
- every slot commits the published verdict and fixed-point contribution; under the rule
  ``trusted`` also the measurements the verdict is derived from, read from the trainer's
  ``robustness`` record (all on the fixed-point grid already: the rule decides on it):
  ``ref_cosine``, ``max_cosine``, ``consensus_cosine``, ``in_cluster`` (0 = rival),
  ``rival_class_gain``; ``usable`` is "reached the rule with a non-zero update" (accepted, or
  rejected by the rule itself, and ``scale > 0``);
- the parameters are the result's: ``replicas`` and ``group_threshold`` from its rule
  parameters, the trust floor (``trust_floor``, which depends on the model size) and the
  readmission bar (``readmit_gain``, recorded only in rounds with rival groups: without one
  the bar decides nothing and is 0) from the records, the fallback from the result.

A round cannot carry a proof (:class:`UnprovableRound`, with the reason) only when it has more
than 64 trainers or a contribution outside ``(-2^40, 2^40)`` micro-units (a score above
a million: no scorer here produces one), or when its published verdicts are not the ones
its measurements give — which is then a fault of the result, not of the proof system.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak

from fedmarket.errors import VerificationError
from fedmarket.round_result import RoundResult, TrainerEntry
from fedmarket.zk.payout import (
    MAX_SLOTS,
    PayoutParams,
    PayoutStatement,
    SlotMeasurements,
    cos_fixed,
)

__all__ = ["PROVEN_RULE", "UnprovableRound", "RoundClaim", "claim_hash", "round_params",
           "round_slots", "payout_statement", "round_claim"]

#: The rule whose acceptance decisions the circuit derives; other rules' verdicts are committed.
PROVEN_RULE = "trusted"


class UnprovableRound(VerificationError):
    """The round cannot carry a proof; the message says why."""


def claim_hash(measurements_root: int, params: int) -> bytes:
    """``keccak256(abi.encode(measurementsRoot, params))``: the ``proofClaim`` of a result."""
    return bytes(keccak(encode(["uint256", "uint256"], [measurements_root, params])))


def _record_value(result: RoundResult, key: str) -> float:
    for t in result.trainers:
        if key in t.robustness:
            return float(t.robustness[key])
    return 0.0


def round_params(result: RoundResult) -> PayoutParams:
    """The statement's parameters (module docstring)."""
    equal = result.fallback == "equal"
    if result.rule != PROVEN_RULE:
        return PayoutParams(trusted=False, equal_fallback=equal)
    params = result.rule_params
    return PayoutParams(
        trusted=True, equal_fallback=equal,
        one_vote=params.get("replicas", "reject") == "one_vote",
        floor_cos=cos_fixed(_record_value(result, "trust_floor")),
        group_cos=cos_fixed(float(params.get("group_threshold", 0.9))),
        gain_min=cos_fixed(_record_value(result, "readmit_gain")))


def _slot(entry: TrainerEntry, rule: str) -> SlotMeasurements:
    if rule != PROVEN_RULE:
        return SlotMeasurements(accepted=entry.accepted, contribution=int(entry.contribution))
    rec = entry.robustness
    usable = ((entry.accepted or entry.reason == f"rejected_by_rule:{rule}")
              and float(rec.get("scale", 0.0)) > 0.0)
    return SlotMeasurements(
        accepted=entry.accepted, contribution=int(entry.contribution), usable=usable,
        rival=float(rec.get("in_cluster", 1.0)) == 0.0,
        ref_cos=cos_fixed(float(rec.get("ref_cosine", 0.0))),
        max_cos=cos_fixed(float(rec.get("max_cosine", 0.0))),
        consensus_cos=cos_fixed(float(rec.get("consensus_cosine", 0.0))),
        gain=cos_fixed(float(rec.get("rival_class_gain", 0.0))))


def round_slots(result: RoundResult) -> tuple[SlotMeasurements, ...]:
    """The committed measurements, one slot per trainer in the result's order."""
    return tuple(_slot(t, result.rule) for t in result.trainers)


def payout_statement(result: RoundResult, *, check: bool = True) -> PayoutStatement:
    """The statement of the round's proof; ``check`` refuses what the circuit would."""
    n = len(result.trainers)
    if n > MAX_SLOTS:
        raise UnprovableRound(f"{n} trainers: a payout proof holds at most {MAX_SLOTS}")
    try:
        statement = PayoutStatement(result.project, result.round,
                                    tuple(t.address for t in result.trainers),
                                    round_slots(result), round_params(result), result.pool)
        if check:
            statement.check()
            published = [int(t.reward) for t in result.trainers]
            if statement.amounts != published:
                raise ValueError(f"published rewards {published} are not the statement's "
                                 f"{statement.amounts}")
    except ValueError as exc:
        raise UnprovableRound(str(exc)) from exc
    return statement


@dataclass(frozen=True)
class RoundClaim:
    """What the aggregator posts with the result (``proofClaim``) and what it commits to."""

    measurements_root: int
    params: int

    @property
    def claim(self) -> bytes:
        """``keccak256(abi.encode(measurementsRoot, params))``."""
        return claim_hash(self.measurements_root, self.params)


def round_claim(statement: PayoutStatement) -> RoundClaim:
    """The claim of a statement."""
    return RoundClaim(statement.root, statement.params.packed())
