"""Layer 1 of verification: re-execute a posted round and compare it with what was published.

What must match exactly (integers and strings): the result bytes hash to the posted
``resultHash``; the posted rewards root and total equal the result's; every trainer's address,
update CID, sample count, verdict and reason, fixed-point contribution and reward in wei; the
seed, rule and scorer with their parameters; the base model CID. What may differ by a stated
tolerance (floating point): robustness scores and metrics (``FLOAT_TOLERANCE``, relative, with
an absolute floor) and the new global model's weights (``MODEL_TOLERANCE``, max abs difference)
when its CID differs — the same code on another CPU may round the last bit differently. Rewards
are computed from fixed-point contributions, so wei amounts stay exact across machines.

**Rounding boundaries.** A contribution is ``round(score * 10**6)``. Two machines (a GPU
aggregator and a CPU verifier, or one thread against two) may compute scores that differ in the
last bits; when the exact score lies near ``k + 1/2`` micro-units they round to neighbouring
integers, and comparing the integers exactly would dispute an honest round — slashing an honest
aggregator and the verifiers who agreed with it. So each published contribution must lie within
:data:`CONTRIBUTION_SLACK` micro-units of the verifier's own, and everything derived from the
contributions is then re-derived from the *published* integers, exactly: the wei split
(``split_rewards`` over the published contributions and verdicts), the Merkle root and the total.
The slack is worth at most one micro-unit of score, so an aggregator gains nothing from it
beyond what rounding already allowed, and a larger shift of any score is still a difference.
(Scores that differ by more — a validation sample whose predicted class flips between devices —
are a different measurement, and still disagree.)

The same holds for the ``trusted`` rule's measurements, which it puts on the payout proof's
grid of 2^-16 (:mod:`fedmarket.zk.payout`): each may lie one grid step (:data:`GRID_SLACK`)
from the verifier's own, and the verdicts are then re-derived from the *published*
measurements, as the proof does: a published verdict that differs from the verifier's own is
no difference when it is the one the published measurements give
(:func:`fedmarket.zk.payout.derived_acceptance`) and those measurements passed the check.
The trigger scan's measurements (:mod:`aggregator.trigger_scan`) come out of a
300-step optimisation that amplifies last-bit differences; they may differ by
:data:`aggregator.trigger_scan.MEASUREMENT_TOLERANCE` (its ``backdoor_shortcut`` verdicts must
match: a flip takes a ratio within about 1e-6 of the bar).
Left: a grid step that changes which updates are eligible also changes the consensus cosines
(computed among the eligible) and the single-linkage rivals, which then differ by more than a
step and still disagree — it takes a cosine within 2^-17 of a threshold *and* a last-bit
difference between the machines, which the thread-count test has not produced — and the new
model, recomputed with the verifier's own verdicts, then differs too (recomputing the
aggregate from the published verdicts and contributions is not done yet). For the same reason,
under a mean-of-selected rule (Multi-Krum), the validation filter's choice of which accepted
updates enter the new model (contribution > 0) is not re-derived: a score within half a
micro-unit of zero (|score| < 5e-7) rounded differently would still show as a model difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from eth_utils import keccak

from aggregator.rewards import split_rewards
from aggregator.service import compute_outcome
from aggregator.trigger_scan import MEASUREMENT_KEYS as SCAN_KEYS
from aggregator.trigger_scan import MEASUREMENT_TOLERANCE as SCAN_TOLERANCE
from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import RoundInfo
from fedmarket.codec import decode_model, flatten
from fedmarket.datasets import Dataset
from fedmarket.errors import FedmarketError
from fedmarket.merkle import reward_tree
from fedmarket.modelspec import ModelSpec
from fedmarket.round_result import ZERO_ROOT, RoundResult, canonical_json, payout_leaves
from fedmarket.storage.base import ContentStore
from fedmarket.zk.payout import COS_SCALE, derived_acceptance
from fedmarket.zk.round import PROVEN_RULE, round_params, round_slots

__all__ = ["ReexecutionReport", "reexecute_round", "compare_results", "FLOAT_TOLERANCE",
           "MODEL_TOLERANCE", "CONTRIBUTION_SLACK", "GRID_SLACK"]

FLOAT_TOLERANCE = 1e-6  # relative, for robustness scores and metrics
FLOAT_ABS_FLOOR = 1e-9  # absolute floor so scores near zero compare sanely
MODEL_TOLERANCE = 1e-5  # max |w_published - w_recomputed| when the model CIDs differ
#: Micro-units a published contribution may differ from the recomputed one: the two sides of a
#: rounding boundary (see the module docstring).
CONTRIBUTION_SLACK = 1
#: How far a published grid measurement of the trusted rule may lie from the recomputed one.
GRID_SLACK = 1 / COS_SCALE
#: The trusted rule's measurements on the proof's grid (records with these keys).
GRID_KEYS = frozenset({"ref_cosine", "max_cosine", "consensus_cosine", "rival_class_gain",
                       "trust_floor", "readmit_gain"})


@dataclass
class ReexecutionReport:
    """What a verifier found; stored as JSON and pointed at by its attestation."""

    project: int
    round: int
    verifier: str
    result_hash: str
    agree: bool = True
    differences: list[str] = field(default_factory=list)

    def differ(self, message: str) -> None:
        """Record one difference (the verdict becomes disagree)."""
        self.agree = False
        self.differences.append(message)

    def to_bytes(self) -> bytes:
        """Canonical JSON of the report."""
        return canonical_json({
            "project": self.project, "round": self.round, "verifier": self.verifier,
            "result_hash": self.result_hash, "agree": self.agree,
            "differences": self.differences[:50],
            "tolerances": {"float_relative": FLOAT_TOLERANCE, "model_max_abs": MODEL_TOLERANCE},
        })


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_ABS_FLOOR)


def reexecute_round(contracts: MarketContracts, store: ContentStore, spec: ModelSpec,
                    round_info: RoundInfo, validation: Dataset | None, verifier: str,
                    from_block: int = 0) -> ReexecutionReport:
    """Recompute ``round_info``'s round from chain + storage and compare with the posted result."""
    project, round_ = round_info.project, round_info.round
    report = ReexecutionReport(project, round_, verifier, "0x" + round_info.result_hash.hex())
    try:
        published_bytes = store.get(round_info.result_cid)
    except FedmarketError as exc:
        report.differ(f"result {round_info.result_cid} cannot be fetched: {exc}")
        return report
    if keccak(published_bytes) != round_info.result_hash:
        report.differ("the result file does not hash to the posted resultHash")
        return report
    try:
        published = RoundResult.from_bytes(published_bytes)
    except FedmarketError as exc:
        report.differ(f"the result file is malformed: {exc}")
        return report
    if published.rewards_root != "0x" + round_info.rewards_root.hex():
        report.differ("posted rewards root differs from the result's")
    if published.total != round_info.total_rewarded_wei:
        report.differ(f"posted total {round_info.total_rewarded_wei} != result total "
                      f"{published.total}")
    if published.model_cid != round_info.model_cid:
        report.differ("posted model CID differs from the result's")
    outcome = compute_outcome(contracts, store, spec, project, round_, validation, from_block)
    compare_results(report, published, outcome.result)
    if outcome.result.model_cid != published.model_cid:
        _compare_models(report, store, spec, published.model_cid, outcome.result.model_cid)
    return report


def compare_results(report: ReexecutionReport, published: RoundResult,
                    mine: RoundResult) -> None:
    """Record in ``report`` every way ``published`` differs from the verifier's ``mine``."""
    exact: list[tuple[str, Any, Any]] = [
        ("project", published.project, mine.project), ("round", published.round, mine.round),
        ("rule", published.rule, mine.rule), ("rule_params", dict(published.rule_params),
                                                dict(mine.rule_params)),
        ("scorer", published.scorer, mine.scorer),
        ("scorer_params", dict(published.scorer_params), dict(mine.scorer_params)),
        ("fallback", published.fallback, mine.fallback), ("seed", published.seed, mine.seed),
        ("base_model_cid", published.base_model_cid, mine.base_model_cid),
        ("pool", published.pool, mine.pool),
    ]
    for name, theirs, ours in exact:
        if theirs != ours:
            report.differ(f"{name}: published {theirs!r}, recomputed {ours!r}")
    theirs_by = {t.address: t for t in published.trainers}
    ours_by = {t.address: t for t in mine.trainers}
    for address in sorted(set(theirs_by) - set(ours_by)):
        report.differ(f"{address}: listed in the result but revealed no update")
    for address in sorted(set(ours_by) - set(theirs_by)):
        report.differ(f"{address}: revealed an update but is missing from the result")
    follows = _verdicts_from_measurements(published)
    for address in sorted(set(theirs_by) & set(ours_by)):
        t, o = theirs_by[address], ours_by[address]
        for name in ("update_cid", "samples", "accepted", "reason"):
            if name in ("accepted", "reason") and follows.get(address, False):
                continue  # re-derived from the published measurements, checked below
            if getattr(t, name) != getattr(o, name):
                report.differ(f"{address}: {name} published {getattr(t, name)!r}, "
                              f"recomputed {getattr(o, name)!r}")
        if abs(t.contribution - o.contribution) > CONTRIBUTION_SLACK:
            report.differ(f"{address}: contribution published {t.contribution}, recomputed "
                          f"{o.contribution} (more than {CONTRIBUTION_SLACK} micro-unit apart)")
        for key in sorted(set(t.robustness) | set(o.robustness)):
            a, b = t.robustness.get(key), o.robustness.get(key)
            grid = published.rule == PROVEN_RULE and key in GRID_KEYS
            slack = (GRID_SLACK + FLOAT_ABS_FLOOR if grid
                     else SCAN_TOLERANCE if key in SCAN_KEYS else None)
            if a is None or b is None or not (
                    _close(a, b) or (slack is not None and abs(a - b) <= slack)):
                report.differ(f"{address}: robustness {key} published {a}, recomputed {b}")
    _check_payout(report, published)
    for key in sorted(set(published.metrics) | set(mine.metrics)):
        a, b = published.metrics.get(key), mine.metrics.get(key)
        if a is None or b is None or not _close(a, b):
            report.differ(f"metric {key}: published {a}, recomputed {b}")


def _verdicts_from_measurements(published: RoundResult) -> dict[str, bool]:
    """Per trainer of a trusted-rule round: whether its verdict is what its measurements give.

    Only verdicts the rule itself gave (accepted, or ``rejected_by_rule``) are re-derived;
    rejections before the rule (validation) must match exactly. Empty for other rules.
    """
    if published.rule != PROVEN_RULE:
        return {}
    params = round_params(published)
    ruled = f"rejected_by_rule:{PROVEN_RULE}"
    out = {}
    for entry, slot in zip(published.trainers, round_slots(published), strict=True):
        by_rule = entry.accepted or entry.reason == ruled
        out[entry.address] = by_rule and entry.accepted == derived_acceptance(slot, params)
    return out


def _check_payout(report: ReexecutionReport, published: RoundResult) -> None:
    """The wei amounts, total and root follow exactly from the published contributions."""
    accepted = [t.accepted for t in published.trainers]
    try:
        amounts = split_rewards(published.pool, [t.contribution for t in published.trainers],
                                accepted, fallback=published.fallback)  # type: ignore[arg-type]
    except FedmarketError as exc:
        report.differ(f"the published contributions cannot be split: {exc}")
        return
    for entry, amount in zip(published.trainers, amounts, strict=True):
        if entry.reward != amount:
            report.differ(f"{entry.address}: reward published {entry.reward}, the split of the "
                          f"published contributions gives {amount}")
    if published.total != sum(amounts):
        report.differ(f"total published {published.total}, the rewards sum to {sum(amounts)}")
    tree = reward_tree(published.project, published.round, payout_leaves(published.trainers))
    root = tree.root_hex if tree is not None else ZERO_ROOT
    if published.rewards_root != root:
        report.differ(f"rewards_root published {published.rewards_root}, the published rewards "
                      f"give {root}")


def _compare_models(report: ReexecutionReport, store: ContentStore, spec: ModelSpec,
                    published_cid: str, mine_cid: str) -> None:
    try:
        theirs, _ = decode_model(store.get(published_cid), spec)
        ours, _ = decode_model(store.get(mine_cid), spec)
    except FedmarketError as exc:
        report.differ(f"global model {published_cid} cannot be checked: {exc}")
        return
    gap = float((flatten(theirs).to(torch.float64) - flatten(ours).to(torch.float64))
                .abs().max())
    if not gap <= MODEL_TOLERANCE:
        report.differ(f"global model differs from the recomputed one by up to {gap:.3g}")
