"""From a published round result to the statement of its proof, and back to its claim.

Shared by the aggregator (which proves) and the verifier (which re-derives the public inputs),
so both build the very same slots from the same data:

- slots are the result's trainers in its (canonical, ascending address) order, one per
  revealed update, so ``nActive`` is the round's on-chain reveal count;
- ``flag_i`` is ``not accepted``; ``score_i`` is the published fixed-point contribution,
  floored at 0 (the reward split pays only positive scores, so a negative one weighs what 0
  does); ``amount_i`` is the published reward;
- ``f`` and ``m`` are the published Multi-Krum parameters (``m`` defaults to ``n - f``);
- sketches are :func:`~fedmarket.zk.sketch.sketch_round` of the updates with the round's
  on-chain seed.

A round has no proof (:class:`UnprovableRound`, with the reason) when its rule is not
``multi_krum``, when it has more than :data:`ONCHAIN_N_MAX` trainers, when an update was
rejected before the rule saw it (malformed, copied: it holds a slot the float rule never
scored), or when the published decisions are not the integer reference's: the integer
Multi-Krum on the 16-dimensional sketches may select other trainers than the float Multi-Krum
on the full updates (a random projection keeps distances only approximately), and the "equal"
fallback split is not the circuit's proportional one. Re-execution (layer 1) settles such
rounds alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fedmarket.chain.types import proof_claim_for
from fedmarket.errors import VerificationError
from fedmarket.round_result import RoundResult
from fedmarket.zk.krum import check_parameters
from fedmarket.zk.sketch import sketch_round
from fedmarket.zk.statement import ONCHAIN_N_MAX, PUBLIC_INPUTS, RoundStatement

__all__ = ["PROVABLE_RULE", "UnprovableRound", "RoundClaim", "round_decisions",
           "round_parameters", "round_statement", "round_claim"]

PROVABLE_RULE = "multi_krum"
# Reasons the aggregator gives trainers its rule rejected; any other reason came before it.
_RULE_REJECTION = f"rejected_by_rule:{PROVABLE_RULE}"


class UnprovableRound(VerificationError):
    """The round cannot carry a proof; the message says why (not an error of anyone's)."""


def round_parameters(result: RoundResult) -> tuple[int, int]:
    """``(f, m)`` of the round's Multi-Krum; raises :class:`UnprovableRound` if it has none."""
    if result.rule != PROVABLE_RULE:
        raise UnprovableRound(f"rule {result.rule!r}: proofs cover {PROVABLE_RULE} only")
    n = len(result.trainers)
    if n > ONCHAIN_N_MAX:
        raise UnprovableRound(f"{n} trainers: an on-chain proof holds at most {ONCHAIN_N_MAX}")
    for t in result.trainers:
        if not t.accepted and t.reason != _RULE_REJECTION:
            raise UnprovableRound(f"{t.address} was rejected before the rule ({t.reason})")
    f = int(result.rule_params.get("f", 0))
    m_param = result.rule_params.get("m")
    m = n - f if m_param is None else int(m_param)
    try:
        check_parameters(n, f, m)
    except ValueError as exc:
        raise UnprovableRound(str(exc)) from exc
    return f, m


def round_decisions(result: RoundResult) -> tuple[list[bool], list[int], list[int]]:
    """Published ``(flags, scores, amounts)`` in slot order (see the module docstring)."""
    flags = [not t.accepted for t in result.trainers]
    scores = [max(int(t.contribution), 0) for t in result.trainers]
    amounts = [int(t.reward) for t in result.trainers]
    return flags, scores, amounts


def round_statement(result: RoundResult, updates: Sequence[np.ndarray], seed: int, *,
                    check: bool = True) -> RoundStatement:
    """The statement of the round's proof; ``check`` refuses decisions the circuit rejects."""
    f, m = round_parameters(result)
    if len(updates) != len(result.trainers):
        raise UnprovableRound(f"{len(updates)} updates for {len(result.trainers)} trainers")
    flags, scores, amounts = round_decisions(result)
    sketches, _shift = sketch_round(list(updates), seed)
    statement = RoundStatement(sketches, flags, scores, amounts, result.pool, f, m, seed)
    if check:
        try:
            statement.check()
        except (VerificationError, ValueError) as exc:
            raise UnprovableRound(str(exc)) from exc
    return statement


@dataclass(frozen=True)
class RoundClaim:
    """What the aggregator posts with the result (``proofClaim``) and what it commits to."""

    sketch_root: int
    decisions_root: int
    f: int
    m: int
    public_inputs: tuple[int, ...]  # for the on-chain circuit size

    @property
    def claim(self) -> bytes:
        """``keccak256(abi.encode(sketchRoot, decisionsRoot, f, m))``."""
        return proof_claim_for(self.sketch_root, self.decisions_root, self.f, self.m)


def round_claim(statement: RoundStatement) -> RoundClaim:
    """The claim of a statement proven with the on-chain circuit (``ONCHAIN_N_MAX`` slots)."""
    inputs = statement.public_inputs(ONCHAIN_N_MAX)
    named = dict(zip(PUBLIC_INPUTS, inputs, strict=True))
    return RoundClaim(named["sketchRoot"], named["decisionsRoot"], named["f"], named["m"],
                      tuple(inputs))
