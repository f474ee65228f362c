"""Simulate a federation in process, through the real round computation, with pluggable attacks.

Build a federation from any dataset the trainer loads, give each party a *behaviour* — a
function from what that party sees in a round to the update(s) it submits — and run rounds::

    fed = federation(load_data("digits"), parties=10, alpha=0.5, seed=0)
    def halve_and_inflate(view: PartyView) -> list[Submission]:   # an attack in a few lines
        delta = {n: 0.5 * t for n, t in view.honest_delta.items()}
        return [Submission(delta, view.samples * 10)]              # one account, 10x claimed
    result = run(fed, default_round_spec(fed.spec), {9: halve_and_inflate}, rounds=3)
    result.share([9]), result.accuracy

Each party's view holds its own shard and honest delta, and — with full knowledge — the honest
deltas of the round's honest parties (``view.peers``). A behaviour returns one
:class:`Submission` per account it uses (a Sybil returns several), each with the sample count it
declares. The round then runs exactly as the aggregator runs it: updates encoded and decoded by
the codec, :func:`aggregator.round.compute_round_or_reject_all` with the owner's validation data
as utility and reference. No chain, no store. The reported accuracy is on a held-out test split
the owner never sees (the validation split also trains the reference update, so accuracy on it
would flatter the trusted rules).

Deterministic from ``seed`` at a fixed torch thread count. Honest deltas are cached per
(party, round, global model), so runs that share a federation share their clean training.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from eth_account import Account

from aggregator.round import (
    RoundInputs,
    RoundOutcome,
    RoundSpec,
    compute_round_or_reject_all,
)
from aggregator.trigger_scan import flagged_trainers
from aggregator.utility import ValidationUtility
from aggregator.validation import update_digest
from fedmarket.codec import (
    ModelHeader,
    UpdateHeader,
    decode_update,
    encode_model,
    encode_update,
    flatten,
    unflatten,
)
from fedmarket.datasets import Dataset, holdout_split, partition
from fedmarket.evaluation import evaluate_weights
from fedmarket.models import initial_weights
from fedmarket.modelspec import AggregationSpec, ModelSpec, ScoringSpec, TrainingSpec
from fedmarket.scan_default import DEFAULT_BAR, default_shortcut_bar
from fedmarket.storage.importer import import_stream
from trainer import attacks
from trainer.attacks import AttackContext, Delta
from trainer.local_training import train_local

__all__ = ["Federation", "PartyView", "Submission", "Behaviour", "FederationResult",
           "federation", "digits_spec", "run", "Observer", "honest", "from_attack", "sybil",
           "inflated",
           "copycat", "standalone_accuracy",
           "default_round_spec", "old_default_round_spec", "scan_round_spec",
           "unscanned_round_spec"]

PROJECT = 1
POOL = 10**18  # wei per round


@dataclass(frozen=True)
class Submission:
    """One account's update: its delta and the sample count it declares."""

    delta: Mapping[str, torch.Tensor]
    samples: int


@dataclass(frozen=True)
class PartyView:
    """What one party sees in a round (full knowledge adds the honest parties' deltas)."""

    party: int
    round: int
    global_weights: Mapping[str, torch.Tensor]
    shard: Dataset
    honest_delta: Mapping[str, torch.Tensor]  # what it would send if honest
    peers: Sequence[Mapping[str, torch.Tensor]]  # honest parties' deltas of this round
    revealed: Sequence[Mapping[str, torch.Tensor]]  # honest parties' deltas of the last round
    parties: int
    malicious: int  # parties not behaving honestly
    spec: ModelSpec
    seed: int

    @property
    def samples(self) -> int:
        """The party's true sample count."""
        return len(self.shard)


Behaviour = Callable[[PartyView], list[Submission]]


@dataclass
class Federation:
    """Parties' shards, the owner's validation data, a test split and the project's spec."""

    spec: ModelSpec
    shards: tuple[Dataset, ...]
    validation: Dataset
    test: Dataset
    seed: int = 0
    cache: dict[tuple[int, int, bytes], Delta] = field(default_factory=dict, repr=False)

    def honest_delta(self, party: int, round_: int, weights: Mapping[str, torch.Tensor],
                     digest: bytes) -> Delta:
        """The party's honest delta from ``weights`` (cached by the model's digest)."""
        key = (party, round_, digest)
        if key not in self.cache:
            self.cache[key] = train_local(self.spec, weights, self.shards[party], device="cpu",
                                          seed=self.train_seed(party, round_)).delta
        return self.cache[key]

    def train_seed(self, party: int, round_: int) -> int:
        """Local-training seed of a party in a round."""
        return 1_000_000 * self.seed + 1000 * round_ + party


def digits_spec(rule: str = "trusted", params: Mapping[str, Any] | None = None,
                scoring: str = "group_shapley") -> ModelSpec:
    """The demo's MLP (64 hidden) with 5 local Adam epochs, as ``bench/robustness.py`` uses."""
    return ModelSpec(
        model="mlp", input_shape=(64,), num_classes=10, hidden=(64,),
        training=TrainingSpec(local_epochs=5, lr=0.01, batch_size=16, optimizer="adam"),
        aggregation=AggregationSpec(rule, dict(params or {})), scoring=ScoringSpec(scoring))


def federation(data: Dataset, parties: int = 10, alpha: float | None = 0.5, seed: int = 0,
               spec: ModelSpec | None = None, sizes: Sequence[float] | None = None,
               label_noise: Sequence[float] | None = None) -> Federation:
    """Split ``data``: 20 % owner validation, 20 % of the rest test, the rest among parties.

    ``alpha`` None is IID, else Dirichlet(alpha) non-IID. ``sizes`` (IID only) gives parties
    shards in those proportions; ``label_noise`` replaces that fraction of each party's labels
    with uniformly random other labels (seeded).
    """
    rest, validation = holdout_split(data, fraction=0.2, seed=seed)
    rest, test = holdout_split(rest, fraction=0.2, seed=seed + 1)
    if sizes is not None:
        if alpha is not None or len(sizes) != parties:
            raise ValueError("sizes need an IID split and one size per party")
        order = np.random.default_rng(seed).permutation(len(rest))
        cuts = np.cumsum(np.asarray(sizes, dtype=np.float64) / sum(sizes) * len(rest))
        bounds = [0, *[int(c) for c in cuts]]
        shards = [rest.subset(np.sort(order[a:b]))
                  for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    else:
        shards = partition(rest, parties, alpha=alpha, seed=seed)
    if label_noise is not None:
        shards = [_noisy(s, p, seed * 100 + i, data.num_classes)
                  for i, (s, p) in enumerate(zip(shards, label_noise, strict=True))]
    return Federation(spec or digits_spec(), tuple(shards), validation, test, seed)


def _noisy(shard: Dataset, fraction: float, seed: int, classes: int) -> Dataset:
    if fraction <= 0:
        return shard
    rng = np.random.default_rng(seed)
    flip = rng.random(len(shard)) < fraction
    y = shard.y.copy()
    y[flip] = (y[flip] + rng.integers(1, classes, size=int(flip.sum()))) % classes
    return Dataset(shard.x, y, f"{shard.source}+noise{fraction:g}")


def default_round_spec(spec: ModelSpec | None = None) -> RoundSpec:
    """The default pipeline with validation data, as a posted project of ``spec`` gets it.

    The ``trusted`` rule, ``group_shapley`` scores and, where the task is one it was measured
    on (:func:`fedmarket.scan_default.default_shortcut_bar`; ``spec`` None: the digits spec),
    the trigger scan at its default bar.
    """
    bar = default_shortcut_bar(spec or digits_spec())
    return scan_round_spec(bar) if bar else unscanned_round_spec()


def scan_round_spec(bar: float = DEFAULT_BAR) -> RoundSpec:
    """The default pipeline with the trigger scan at ``bar`` (:mod:`aggregator.trigger_scan`)."""
    return RoundSpec("trusted", {"shortcut_bar": bar}, scorer="group_shapley")


def unscanned_round_spec() -> RoundSpec:
    """The default pipeline without the trigger scan (the default before stop 24)."""
    return RoundSpec("trusted", {}, scorer="group_shapley")


def old_default_round_spec(f: int = 3) -> RoundSpec:
    """The pipeline before issue 14: Multi-Krum with the owner's f, GTG-Shapley."""
    return RoundSpec("multi_krum", {"f": f}, scorer="gtg_shapley")


# -- behaviours ---------------------------------------------------------------------------------


def honest(view: PartyView) -> list[Submission]:
    """The honest update with the true sample count."""
    return [Submission(view.honest_delta, view.samples)]


def from_attack(attack: attacks.Attack, full_knowledge: bool = True) -> Behaviour:
    """A behaviour running a :mod:`trainer.attacks` attack (peers visible if full knowledge)."""

    def behave(view: PartyView) -> list[Submission]:
        context = AttackContext(
            peer_deltas=list(view.peers) if full_knowledge else [],
            num_trainers=view.parties, num_malicious=view.malicious, seed=view.seed)
        update = train_local(view.spec, view.global_weights, view.shard, device="cpu",
                             seed=view.seed, attack=attack, context=context)
        return [Submission(update.delta, view.samples)]

    return behave


def sybil(accounts: int = 3, noise: float = 0.01, inner: Behaviour = honest) -> Behaviour:
    """The party's update sent from ``accounts`` accounts, each with its own small noise.

    Each account declares an equal part of the samples; noise is ``noise`` times the update's
    RMS per coordinate, so no two accounts are bit-identical.
    """

    def behave(view: PartyView) -> list[Submission]:
        (base,) = inner(view)
        out = []
        for a in range(accounts):
            gen = torch.Generator().manual_seed(view.seed * 31 + a)
            noisy = {}
            for name in sorted(base.delta):
                t = base.delta[name]
                rms = float(t.norm()) / max(1, t.numel()) ** 0.5
                noisy[name] = t + noise * rms * torch.randn(t.shape, generator=gen)
            out.append(Submission(noisy, max(1, base.samples // accounts)))
        return out

    return behave


def copycat(noise: float = 0.0) -> Behaviour:
    """Resubmits an honest update revealed last round (commit-reveal hides this round's).

    Round 1 has nothing revealed: the copycat free-rides with zeros. Each copycat copies a
    different honest party (by its own index); ``noise`` as in :func:`sybil`.
    """

    def behave(view: PartyView) -> list[Submission]:
        if not view.revealed:
            zeros = {n: torch.zeros_like(t) for n, t in view.honest_delta.items()}
            return [Submission(zeros, view.samples)]
        copied = view.revealed[view.party % len(view.revealed)]
        return sybil(1, noise, lambda _: [Submission(copied, view.samples)])(view)

    return behave


def inflated(factor: int = 10, inner: Behaviour = honest) -> Behaviour:
    """The inner behaviour's updates declaring ``factor`` times their sample counts."""

    def behave(view: PartyView) -> list[Submission]:
        return [Submission(s.delta, s.samples * factor) for s in inner(view)]

    return behave


# -- running ------------------------------------------------------------------------------------


@dataclass
class FederationResult:
    """Per party: rewards (wei, all rounds) and accepted accounts per round; the model."""

    rewards: list[int]
    accepted: list[list[int]]  # [round][party] accounts accepted by the rule
    in_model: list[list[int]]  # [round][party] accounts that entered the model
    round_accuracy: list[float]  # on the test split
    weights: dict[str, torch.Tensor]
    outcomes: list[Any] = field(default_factory=list, repr=False)

    @property
    def accuracy(self) -> float:
        """Final accuracy on the test split."""
        return self.round_accuracy[-1]

    def share(self, parties: Sequence[int]) -> float:
        """These parties' share of everything paid (0 if nothing was)."""
        total = sum(self.rewards)
        return sum(self.rewards[p] for p in parties) / total if total else 0.0

    def honest_in_model(self, malicious: Sequence[int]) -> float:
        """Mean number of honest accounts per round that entered the model."""
        bad = set(malicious)
        rows = [sum(c for p, c in enumerate(r) if p not in bad) for r in self.in_model]
        return sum(rows) / len(rows)


def _address(party: int, account: int) -> str:
    return str(Account.from_key((party * 64 + account + 1).to_bytes(32, "big")).address)


def _cid(blob: bytes) -> str:
    return str(import_stream(io.BytesIO(blob)).cid)


#: Called once per round, before it is computed, with the round's inputs, the owner's validation
#: utility and each row's party: a defence under study measures what it would decide from.
Observer = Callable[[RoundInputs, ValidationUtility, list[int]], None]


def run(fed: Federation, round_spec: RoundSpec, behaviours: Mapping[int, Behaviour] | None = None,
        rounds: int = 3, full_knowledge: bool = True,
        observe: Observer | None = None) -> FederationResult:
    """Run ``rounds`` rounds; parties not in ``behaviours`` are honest.

    ``observe`` (optional) sees every round's inputs before the round is computed.
    """
    behaviours = dict(behaviours or {})
    spec = _with_rule(fed.spec, round_spec)
    n = len(fed.shards)
    weights = initial_weights(spec)
    rewards = [0] * n
    accepted: list[list[int]] = []
    in_model: list[list[int]] = []
    accuracy: list[float] = []
    outcomes: list[RoundOutcome] = []
    earlier: frozenset[bytes] = frozenset()
    earlier_rows: torch.Tensor | None = None  # last round's revealed rows, as gather_round has
    earlier_trainers: list[str] = []
    revealed: list[Delta] = []
    for r in range(1, rounds + 1):
        base = flatten(weights)
        digest = hashlib.sha256(base.numpy().tobytes()).digest()
        deltas = [fed.honest_delta(i, r, weights, digest) for i in range(n)]
        peers = [deltas[i] for i in range(n) if i not in behaviours] if full_knowledge else []
        rows: list[tuple[str, int, Submission]] = []
        for i in range(n):
            view = PartyView(i, r, weights, fed.shards[i], deltas[i], peers, revealed, n,
                             len(behaviours), spec, fed.train_seed(i, r))
            for a, sub in enumerate(behaviours.get(i, honest)(view)):
                rows.append((_address(i, a), i, sub))
        rows.sort(key=lambda row: row[0].lower())
        blobs = [encode_update(dict(s.delta), UpdateHeader(PROJECT, r, addr, s.samples,
                                                            spec.hash()), spec)
                 for addr, _, s in rows]
        stacked = torch.stack([flatten(decode_update(b, spec)[0]) for b in blobs])
        samples = [s.samples for _, _, s in rows]
        inputs = RoundInputs(
            project=PROJECT, round=r, trainers=[addr for addr, _, _ in rows],
            update_cids=[_cid(b) for b in blobs], samples=samples, updates=stacked,
            base_model_cid=_cid(encode_model(weights, ModelHeader(PROJECT, r - 1, spec.hash()),
                                             spec)),
            pool=POOL, global_model=base, earlier_digests=earlier, earlier_updates=earlier_rows,
            earlier_trainers=list(earlier_trainers),
            flagged=flagged_trainers([o.result for o in outcomes]))
        earlier = frozenset(update_digest(row) for row in stacked)
        earlier_rows, earlier_trainers = stacked, [addr for addr, _, _ in rows]
        revealed = [dict(s.delta) for _, party, s in rows if party not in behaviours]
        utility = ValidationUtility(spec, weights, stacked, samples, fed.validation)
        if observe is not None:
            observe(inputs, utility, [party for _, party, _ in rows])
        outcome = compute_round_or_reject_all(inputs, round_spec, model_cid=lambda _: "",
                                              utility=utility)
        outcomes.append(outcome)
        weights = unflatten((base.to(torch.float64)
                             + outcome.aggregate.to(torch.float64)).to(torch.float32), spec)
        took, entered = [0] * n, [0] * n
        for (_, party, _), verdict, wei, rob in zip(rows, outcome.verdicts, outcome.rewards,
                                                    outcome.robustness, strict=True):
            rewards[party] += wei
            took[party] += int(verdict.accepted)
            entered[party] += int(verdict.accepted and rob.get("in_model", 1.0) > 0)
        accepted.append(took)
        in_model.append(entered)
        accuracy.append(evaluate_weights(spec, weights, fed.test, device="cpu")[0])
    return FederationResult(rewards, accepted, in_model, accuracy, weights, outcomes)


def standalone_accuracy(fed: Federation, party: int, rounds: int = 3) -> float:
    """Test accuracy of the party's model trained on its shard alone, ``rounds`` x its epochs.

    The usual yardstick of a party's data quality in data valuation (what it could do without
    the federation): the same training, seeds and number of local epochs as in :func:`run`.
    """
    weights = initial_weights(fed.spec)
    for r in range(1, rounds + 1):
        delta = train_local(fed.spec, weights, fed.shards[party], device="cpu",
                            seed=fed.train_seed(party, r)).delta
        weights = {n: (weights[n].to(torch.float64) + delta[n].to(torch.float64))
                   .to(torch.float32) for n in weights}
    return float(evaluate_weights(fed.spec, weights, fed.test, device="cpu")[0])


def _with_rule(spec: ModelSpec, round_spec: RoundSpec) -> ModelSpec:
    """The federation's spec with the round's rule and scorer (task and arch kept whole)."""
    return replace(
        spec, aggregation=AggregationSpec(round_spec.rule, dict(round_spec.rule_params)),
        scoring=ScoringSpec(round_spec.scorer, dict(round_spec.scorer_params)))
