"""Backdoor shortcuts: reverse-engineer, per trainer, the smallest input patch that flips its model.

The ``trusted`` rule's ``shortcut_bar``: on by default (0.5) for the tasks it was measured on,
small models on feature vectors (:func:`fedmarket.scan_default.default_shortcut_bar`), off (0)
elsewhere. Neural Cleanse (Wang et al., IEEE S&P 2019): a model with a backdoor "trigger -> t"
has a shortcut to ``t``, a small mask ``m`` and pattern ``p`` with ``(1 - m) * x + m * p``
classified ``t`` for almost every clean ``x``. The owner has clean validation data and every
trainer's local model (the round's global model plus its update), so it can search for the
smallest such mask per trainer and class without knowing the trigger or its target. An update is
rejected (``backdoor_shortcut``) when all three hold:

1. **Shortcut**: for some class its mask needs less than ``bar`` times the round's median mask
   norm for that class (``shortcut_ratio``).
2. **Not a feature of the class**: the mask flips the *reference models* (the round's global
   model plus reference updates trained on the validation data, :data:`REFERENCES` seeds) to
   that class on fewer than :data:`TRANSFER_BAR` of the samples on average
   (``shortcut_transfer``). A natural shortcut — strokes
   that make any digit look like a 0 — flips a clean model too; a planted trigger does not.
3. **Competent model**: its validation accuracy is at least :data:`COMPETENCE` times the
   round's median (``shortcut_accuracy``, the ratio). A model trained on one or two classes
   flips to them with a small, non-transferring mask out of *ignorance*; it is not judged.

A trainer rejected so in an earlier finalized round of the project is judged with the looser
size bar :data:`FLAGGED_BAR` (``backdoor_shortcut_earlier``), the other two conditions unchanged.

Before the search each model's classifier biases are refitted on the validation set (balanced
over classes as the owner's data is): that removes the class prior a skewed shard leaves, which
otherwise makes the skewed class a cheap target, and leaves the weights — and a trigger's path
— as they are (refitting the whole classifier removed the planted shortcuts too: measured).

Measured (``bench/trigger_scan.py``; digits, 10 parties, 5 local Adam epochs, seeds 0-2, four
trigger variants at 10-30 %): IID, every backdoored model's ratio at most 0.44 in round 1 and
every honest one 0.66 or more in every round; Dirichlet 0.5, honest models reached 0.39 (a shard
of nearly one class: accuracy 0.63 of the median, transfer 0.03 — excluded by 3) and 0.40-0.44
with natural shortcuts (transfer 0.44-0.94 — excluded by 2). In the loop (``bench/robustness.py
--scan-fractions``) 2 of 684 honest party-rounds were rejected, both in round 1 of one
Dirichlet seed with ratio 0.49 and transfers 0.17 and 0.27, just inside the bars. The limit is
the one :mod:`aggregator.rival_check` states: a backdoor trainer whose own shard is that skewed
is as ignorant as an honest one and is not judged either.

Costs a batched search of ``N x C`` masks for :data:`SEARCH_STEPS` steps over
:data:`SEARCH_SAMPLES` validation samples (digits MLP, 10 trainers: about 3 s a round on one
core), so it is for small models with float inputs (``features`` or ``image``); a spec with
token inputs cannot enable it (:func:`check_scannable`). Deterministic from the round's rows,
the validation data and the scoring seed; the search amplifies last-bit differences (a 1e-7
relative change of the updates moved mask norms by 1e-4 relative and the ratios by 4e-7), so
verifiers compare the three recorded measurements within :data:`MEASUREMENT_TOLERANCE`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import functional_call, vmap

from aggregator.validation import Verdict
from fedmarket.codec import unflatten
from fedmarket.datasets import Dataset
from fedmarket.errors import AggregationError, ConfigError
from fedmarket.lora import full_weights
from fedmarket.models import build_model
from fedmarket.modelspec import ModelSpec
from fedmarket.round_result import RoundResult

__all__ = ["Shortcut", "scan_shortcuts", "is_backdoor_shortcut", "check_scannable",
           "reject_shortcuts", "flagged_trainers", "SHORTCUT_REASONS",
           "reverse_triggers", "flip_rates", "TRANSFER_BAR", "COMPETENCE", "SEARCH_STEPS",
           "SEARCH_SAMPLES", "MEASUREMENT_TOLERANCE", "MEASUREMENT_KEYS", "FLAGGED_BAR",
           "REFERENCES", "LEARNED", "learned"]

#: Adam steps of the mask search (Neural Cleanse's optimisation, all masks at once).
SEARCH_STEPS = 300
#: Validation samples the masks must flip (seeded choice).
SEARCH_SAMPLES = 100
#: L1 weight on the mask: large enough that the search shrinks it, small enough that a mask
#: flipping every sample is still found (measured: every search flipped >= 97 % of its samples
#: for classes the model knows).
PENALTY = 0.02
#: Full-batch Adam steps refitting each model's classifier biases on the validation data.
CALIBRATION_STEPS = 200
#: Fraction of samples a trainer's mask may flip in the reference model and still count as a
#: planted trigger (planted: 0.00-0.22 while the global model was clean; natural: 0.44-0.94).
TRANSFER_BAR = 0.3
#: A model below this fraction of the round's median validation accuracy is not judged (honest
#: one-class shards: 0.63-0.67; backdoored models in IID splits: 0.88 and above).
COMPETENCE = 0.75
#: The ratio bar for a trainer the scan rejected in an earlier finalized round of the project.
#: A planted shortcut stands out while the global model is young (backdoored models at
#: 0.15-0.47 of the median in round 1) and less as honest models sharpen (a 3x3 trigger's at
#: 0.65-0.74 by round 3) while its mask still flips no reference (0.00-0.01): once caught, the
#: size bar is relaxed, never the transfer test (honest cheapest masks transferred 0.44-0.99).
FLAGGED_BAR = 0.8
#: A round is judged only when its models have learned the task: the median local model's
#: validation accuracy at least this fraction of the way from chance (1 / classes) to 1. A
#: shortcut is "cheap" only against models that know the classes; one epoch of SGD from the
#: random model left digits models at chance (median 0.10-0.13 in Dirichlet 0.5 splits), where
#: the cheapest masks are noise (measured: 4 honest rejections in 180 party-rounds, none with
#: this gate). 0.1 of the way is 0.19 for ten classes, 0.55 for two.
LEARNED = 0.1
#: Reference models (seeds) the transfer is averaged over.
REFERENCES = 3
#: Absolute difference allowed between published and recomputed scan measurements.
MEASUREMENT_TOLERANCE = 1e-3
MEASUREMENT_KEYS = frozenset({"shortcut_ratio", "shortcut_transfer", "shortcut_accuracy"})


@dataclass(frozen=True)
class Shortcut:
    """One trainer's cheapest class: mask ratio to the round's median, transfer, competence."""

    target: int
    ratio: float
    transfer: float
    accuracy: float  # its validation accuracy over the round's median

    def record(self) -> dict[str, float]:
        """The measurements the round result records."""
        return {"shortcut_class": float(self.target), "shortcut_ratio": self.ratio,
                "shortcut_transfer": self.transfer, "shortcut_accuracy": self.accuracy}


def check_scannable(spec: ModelSpec) -> None:
    """Refuse a spec whose inputs a mask cannot be laid on (token ids)."""
    if spec.input_kind == "tokens":
        raise ConfigError("the trigger scan (shortcut_bar) needs float inputs (features or "
                          "image); this spec reads tokens")


def learned(accuracies: Sequence[float], classes: int) -> bool:
    """Whether a round's local models know the task well enough to be judged (:data:`LEARNED`)."""
    chance = 1.0 / classes
    return bool(accuracies) and float(np.median(accuracies)) >= chance + LEARNED * (1 - chance)


def is_backdoor_shortcut(shortcut: Shortcut, bar: float, flagged: bool = False) -> bool:
    """The three conditions of the module docstring (a ``flagged`` trainer: the looser bar)."""
    ratio_bar = max(bar, FLAGGED_BAR) if flagged else bar
    return (bar > 0 and shortcut.ratio < ratio_bar and shortcut.transfer < TRANSFER_BAR
            and shortcut.accuracy >= COMPETENCE)


def _classifier(model: torch.nn.Module) -> str:
    names = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    if not names:
        raise ConfigError("the trigger scan needs a model ending in a linear classifier")
    return names[-1]


def _tensors(data: Dataset, spec: ModelSpec) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.ascontiguousarray(data.x, dtype=np.float32))
    y = torch.from_numpy(np.ascontiguousarray(data.y, dtype=np.int64))
    return x.reshape(len(x), *spec.input_shape), y


def _recalibrated(model: torch.nn.Module, params: dict[str, torch.Tensor], x: torch.Tensor,
                  y: torch.Tensor, steps: int) -> dict[str, torch.Tensor]:
    """Each model's classifier biases refitted on ``(x, y)`` (its weights kept)."""
    head = _classifier(model)
    captured: list[torch.Tensor] = []
    hook = model.get_submodule(head).register_forward_hook(
        lambda _m, inputs, _o: captured.append(inputs[0].detach()))
    try:
        with torch.no_grad():
            for r in range(len(params[f"{head}.bias"])):
                functional_call(model, {n: t[r] for n, t in params.items()}, (x,))
    finally:
        hook.remove()
    logits = torch.einsum("rnh,rch->rnc", torch.stack(captured), params[f"{head}.weight"])
    bias = params[f"{head}.bias"].clone().requires_grad_(True)
    opt = torch.optim.Adam([bias], lr=0.01)
    target = y.repeat(len(bias))
    for _ in range(steps):
        out = logits + bias.unsqueeze(1)
        loss = torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {**params, f"{head}.bias": bias.detach()}


def _stacked(model: torch.nn.Module, spec: ModelSpec,
             flats: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
    names = [n for n, _ in model.named_parameters()]
    local = [full_weights(spec, unflatten(f.to(torch.float32), spec)) for f in flats]
    return {n: torch.stack([w[n] for w in local]) for n in names}


def reverse_triggers(spec: ModelSpec, models: Sequence[torch.Tensor], validation: Dataset,
                     seed: int, steps: int = SEARCH_STEPS, samples: int = SEARCH_SAMPLES,
                     calibration: int = CALIBRATION_STEPS) -> dict[str, torch.Tensor]:
    """Per model (flat weights) and class: the smallest flipping mask found, and what it flips.

    Returns ``norm`` and ``rate`` ``[R, C]`` (the mask's L1 norm; the fraction of the other
    classes' samples it flips to the class), ``mask`` and ``pattern`` ``[R, C, F]``, and the
    samples ``x`` ``[S, F]`` and ``y`` ``[S]`` it searched on.
    """
    check_scannable(spec)
    model = build_model(spec).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    params = _stacked(model, spec, models)
    if calibration:
        params = _recalibrated(model, params, *_tensors(validation, spec), calibration)
    pick = np.sort(np.random.default_rng(seed).choice(
        len(validation), size=min(samples, len(validation)), replace=False))
    x, y = _tensors(validation.subset(pick), spec)
    x = x.reshape(len(pick), -1)
    rows, classes, feat = len(models), spec.num_classes, x.shape[1]
    lo, hi = float(x.min()), float(x.max())
    others = (y.unsqueeze(0) != torch.arange(classes).unsqueeze(1)).to(torch.float32)  # [C, S]
    target = torch.arange(classes).repeat_interleave(len(pick)).repeat(rows)
    mask_logit = torch.full((rows, classes, feat), -2.0, requires_grad=True)
    pattern_logit = torch.zeros((rows, classes, feat), requires_grad=True)
    opt = torch.optim.Adam([mask_logit, pattern_logit], lr=0.1)
    shape = tuple(spec.input_shape)
    batched = vmap(lambda p, inp: functional_call(model, p, (inp.reshape(-1, *shape),)))

    def forward() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m = torch.sigmoid(mask_logit)
        pat = lo + (hi - lo) * torch.sigmoid(pattern_logit)
        xs = (1 - m.unsqueeze(2)) * x.view(1, 1, -1, feat) + (m * pat).unsqueeze(2)
        return batched(params, xs.reshape(rows, -1, feat)).reshape(-1, classes), m, pat

    for _ in range(steps):
        out, m, _ = forward()
        ce = torch.nn.functional.cross_entropy(out, target, reduction="none")
        ce = ce.reshape(rows, classes, len(pick))
        loss = (ce * others).sum(-1) / others.sum(-1).clamp_min(1) + PENALTY * m.sum(-1)
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
    with torch.no_grad():
        out, m, pat = forward()
        hit = (out.argmax(-1) == target).to(torch.float32).reshape(rows, classes, len(pick))
        rate = (hit * others).sum(-1) / others.sum(-1).clamp_min(1)
    return {"norm": m.sum(-1), "rate": rate, "mask": m, "pattern": pat, "x": x, "y": y}


def flip_rates(spec: ModelSpec, flat: torch.Tensor, found: dict[str, torch.Tensor]) -> np.ndarray:
    """``[R, C]``: how often each of ``found``'s masks flips the model ``flat`` to its class."""
    model = build_model(spec).eval()
    weights = full_weights(spec, unflatten(flat.to(torch.float32), spec))
    m, pat, x, y = found["mask"], found["pattern"], found["x"], found["y"]
    rows, classes, feat = m.shape
    with torch.no_grad():
        xs = (1 - m.unsqueeze(2)) * x.view(1, 1, -1, feat) + (m * pat).unsqueeze(2)
        pred = functional_call(model, weights, (xs.reshape(-1, *spec.input_shape),))
        pred = pred.argmax(-1).reshape(rows, classes, -1)
    tgt = torch.arange(classes).view(1, classes, 1)
    others = (y.view(1, 1, -1) != tgt).to(torch.float32)
    return (((pred == tgt).to(torch.float32) * others).sum(-1)
            / others.sum(-1).clamp_min(1)).numpy()


def scan_shortcuts(spec: ModelSpec, base: torch.Tensor, updates: torch.Tensor,
                   rows: Sequence[int], validation: Dataset, references: Sequence[torch.Tensor],
                   accuracies: Sequence[float], seed: int) -> list[Shortcut]:
    """One :class:`Shortcut` per row in ``rows`` of ``updates`` (deltas from ``base``).

    ``references`` are reference deltas trained on the validation data with different seeds
    (the transfer is the mean flip rate over them: one reference's rate moved by up to 0.14
    with its seed); ``accuracies`` the rows' local models' validation accuracies (same order
    as ``rows``). Needs at least two rows (a median of one trainer compares it with itself).
    The caller checks :func:`learned` first (before training the references).
    """
    middle = float(np.median(accuracies))
    base64 = base.to(torch.float64)
    models = [base64 + updates[i].to(torch.float64) for i in rows]
    found = reverse_triggers(spec, models, validation, seed)
    norm = found["norm"].to(torch.float64).numpy()
    ratio = norm / np.maximum(np.median(norm, axis=0), 1e-12)
    transfer = np.mean([flip_rates(spec, base64 + r.to(torch.float64), found)
                        for r in references], axis=0)
    out = []
    for r in range(len(rows)):
        c = int(np.argmin(ratio[r]))
        out.append(Shortcut(target=c, ratio=float(ratio[r, c]), transfer=float(transfer[r, c]),
                            accuracy=float(accuracies[r]) / middle if middle > 0 else 0.0))
    return out


#: Reasons the trigger scan gives; a trainer with either in a finalized round stays flagged.
SHORTCUT_REASONS = ("backdoor_shortcut", "backdoor_shortcut_earlier")

#: ``scan(rows, reference, seed)``: the rows' shortcuts
#: (:meth:`aggregator.utility.ValidationUtility.shortcuts`).
Scan = Callable[[Sequence[int], torch.Tensor, int], list[Shortcut]]


def flagged_trainers(results: Sequence[RoundResult]) -> frozenset[str]:
    """Lowercase addresses the trigger scan rejected in any of ``results``."""
    return frozenset(t.address.lower() for r in results for t in r.trainers
                     if t.reason in SHORTCUT_REASONS)


def reject_shortcuts(trainers: Sequence[str], flagged: Collection[str], bar: float,
                     verdicts: list[Verdict], scan: Scan | None, reference: torch.Tensor | None,
                     seed: int) -> dict[int, Shortcut]:
    """Reject, in ``verdicts``, the updates whose model has a planted trigger's shortcut.

    Off unless ``bar`` is above 0. A trainer in ``flagged`` (rejected so in an earlier
    finalized round) is judged with the looser size bar :data:`FLAGGED_BAR`
    (``backdoor_shortcut_earlier``): a planted shortcut stands out against peers while the
    global model is young and less as the honest models sharpen, so a backdoor trainer caught
    once would otherwise be paid later for the same data. Not a ban: an honest trainer flagged
    once near the bars is judged again on a mask that must still flip no reference model. Rows
    already rejected are not scanned; with fewer than two rows left there is no round median to
    compare with, and none is judged. Returns the scanned rows' shortcuts.
    """
    if bar <= 0:
        return {}
    if scan is None or reference is None:
        raise AggregationError("the trigger scan (shortcut_bar) needs the owner's validation "
                               "data")
    rows = [i for i, v in enumerate(verdicts) if v.accepted]
    if len(rows) < 2:
        return {}
    shortcuts = scan(rows, reference, seed)
    if not shortcuts:  # the round's models have not learned the task (learned): none judged
        return {}
    found = dict(zip(rows, shortcuts, strict=True))
    for i, shortcut in found.items():
        if is_backdoor_shortcut(shortcut, bar):
            verdicts[i] = Verdict.reject(SHORTCUT_REASONS[0])
        elif (trainers[i].lower() in flagged
              and is_backdoor_shortcut(shortcut, bar, flagged=True)):
            verdicts[i] = Verdict.reject(SHORTCUT_REASONS[1])
    return found
