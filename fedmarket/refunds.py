"""Why a round paid nothing, in words: one sentence per refund reason, read from the chain.

A refunded round pays no trainer; its pool stays in the project's escrow and returns to the
owner when the project ends. Every place that reports rounds (``project show``, the demo table,
role output) says which rounds were refunded and why, and never shows them as paid. The reason
is recorded only in the ``RoundRefunded`` event (the round's stored status says *that* it was
refunded), so :func:`round_closures` reads those events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedmarket.chain.market import Market
from fedmarket.chain.types import RefundReason, RoundStatus

__all__ = ["REFUND_SENTENCES", "DISPUTED_SENTENCE", "RoundClosure", "describe_refund",
           "round_closures", "closure_in_receipt"]

#: What each ``IFedMarket.RefundReason`` means for the people involved.
REFUND_SENTENCES: dict[RefundReason, str] = {
    RefundReason.NOT_ENOUGH_TRAINERS: "fewer trainers revealed an update than the project's "
                                      "minimum before the reveal deadline",
    RefundReason.AGGREGATOR_SILENT: "the aggregator posted no result before the result "
                                    "deadline; the project was aborted and its bond is shared "
                                    "by the round's revealed trainers (`fedmarket trainer "
                                    "compensation`)",
    RefundReason.NO_VERIFIER_QUORUM: "the verify window ended without enough committee votes "
                                     "on either side, so the result was not paid",
    RefundReason.DISPUTED: "a majority of the committee disagreed with the aggregator's result",
    RefundReason.CONTESTED: "the committee split with no side holding a majority of at least "
                            "the quorum, so the result was not paid and nobody was slashed",
}

#: A disputed round is closed by ``RoundDisputed``, not ``RoundRefunded``, but pays nothing too.
DISPUTED_SENTENCE = ("a majority of the committee disagreed with the aggregator's result; the "
                     "project was aborted and the aggregator's bond is shared by the round's "
                     "revealed trainers (`fedmarket trainer compensation`)")


def describe_refund(reason: RefundReason | int) -> str:
    """The sentence for a refund reason (an unknown code is named as such, never hidden)."""
    try:
        return REFUND_SENTENCES[RefundReason(reason)]
    except ValueError:
        return f"refund reason {int(reason)} (unknown to this version of fedmarket)"


@dataclass(frozen=True)
class RoundClosure:
    """How a round that paid nothing was closed: the reason code (if refunded) and its words."""

    round: int
    status: RoundStatus
    reason: str  # RefundReason name in lower case, or "disputed"
    sentence: str


def round_closures(market: Market, project: int, from_block: int = 0) -> dict[int, RoundClosure]:
    """Every refunded or disputed round of ``project`` by round number, with why."""
    events = market.contract.contract.events
    closures: dict[int, RoundClosure] = {}
    for log in events.RoundRefunded().get_logs(argument_filters={"project": project},
                                                from_block=from_block):
        code = int(log["args"]["reason"])
        name = (RefundReason(code).name.lower() if code in RefundReason._value2member_map_
                else str(code))
        round_ = int(log["args"]["round"])
        closures[round_] = RoundClosure(round_, RoundStatus.REFUNDED, name, describe_refund(code))
    for log in events.RoundDisputed().get_logs(argument_filters={"project": project},
                                                from_block=from_block):
        round_ = int(log["args"]["round"])
        closures[round_] = RoundClosure(round_, RoundStatus.DISPUTED, "disputed",
                                        DISPUTED_SENTENCE)
    return closures


def closure_in_receipt(market: Market, receipt: Any) -> RoundClosure | None:
    """How the round closed by ``receipt`` (an ``advance``) was closed, if it paid nothing."""
    for e in market.contract.events("RoundRefunded", receipt):
        reason = RefundReason(int(e["reason"]))
        return RoundClosure(int(e["round"]), RoundStatus.REFUNDED, reason.name.lower(),
                            describe_refund(reason))
    for e in market.contract.events("RoundDisputed", receipt):
        return RoundClosure(int(e["round"]), RoundStatus.DISPUTED, "disputed", DISPUTED_SENTENCE)
    return None
