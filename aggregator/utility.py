"""The validation utility v(S) that contribution scoring values coalitions with.

v(S) is the validation accuracy of the round's base model plus the sample-weighted mean of the
updates of the trainers in S (v(∅) is the base model's accuracy), as in GTG-Shapley (Liu et al.
2022). Values are cached per coalition: Monte-Carlo Shapley asks for the same prefixes often.

A rule that weighs updates itself (``trusted``, ``fltrust``: trust weights on updates rescaled to
a common norm) gets :meth:`ValidationUtility.reweighted`, which values a coalition by the rule's
own weighted mean instead — so what a trainer declares about its sample count changes neither
the model nor its score. The same object trains those rules' reference update on the validation
data (:meth:`ValidationUtility.reference_update`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from aggregator.reference import train_reference
from aggregator.trigger_scan import REFERENCES, Shortcut, learned, scan_shortcuts
from fedmarket.codec import flatten, unflatten
from fedmarket.datasets import Dataset
from fedmarket.evaluation import evaluate_weights
from fedmarket.lora import full_weights
from fedmarket.models import build_model, set_weights
from fedmarket.modelspec import ModelSpec

__all__ = ["ValidationUtility", "WeightedUtility", "AccuracyEvaluator", "model_accuracy",
           "coalition_sum"]


#: Columns per step of :func:`coalition_sum`: its float64 temporaries are N x 256K x 8 bytes.
COALITION_CHUNK = 1 << 18


def coalition_sum(updates: torch.Tensor, coef: torch.Tensor, rows: list[int]) -> torch.Tensor:
    """``sum_k coef[k] * updates[rows[k]]`` in float64, a block of columns at a time.

    Gathering the coalition's rows and converting them to float64 at once made a copy twice the
    size of those rows — for the grand coalition of 20 updates of 100M parameters, 16 GB.
    """
    out = torch.empty(updates.shape[1], dtype=torch.float64)
    index = torch.tensor(rows, dtype=torch.long)
    for start in range(0, updates.shape[1], COALITION_CHUNK):
        block = updates[:, start:start + COALITION_CHUNK].index_select(0, index)
        out[start:start + COALITION_CHUNK] = coef @ block.to(torch.float64)
    return out


class ValidationUtility:
    """Callable ``v(subset) -> accuracy`` over rows of the round's stacked updates."""

    def __init__(self, spec: ModelSpec, base_weights: Mapping[str, torch.Tensor],
                 updates: torch.Tensor, samples: Sequence[int], validation: Dataset):
        self.spec = spec
        self.base = flatten(base_weights).to(torch.float64)
        self.updates = updates
        self.samples = [max(int(s), 0) for s in samples]
        self.validation = validation
        self.cache: dict[tuple[int, ...], float] = {}
        self.evaluator = AccuracyEvaluator(spec, validation)

    def __call__(self, subset: tuple[int, ...]) -> float:
        """v(subset): accuracy of base + weighted mean of the subset's updates (cached)."""
        key = tuple(sorted(subset))
        if key not in self.cache:
            self.cache[key] = self._value(key)
        return self.cache[key]

    def _value(self, subset: tuple[int, ...]) -> float:
        vector = self.base
        if subset:
            weights = torch.tensor([self.samples[i] for i in subset], dtype=torch.float64)
            if float(weights.sum()) <= 0:
                weights = torch.ones(len(subset), dtype=torch.float64)
            vector = self.base + coalition_sum(self.updates, weights / weights.sum(),
                                               list(subset))
        return self.evaluator(vector)

    def reference_update(self, seed: int) -> torch.Tensor:
        """The round's reference update: the spec's training run on the validation data."""
        base = unflatten(self.base.to(torch.float32), self.spec)
        return train_reference(self.spec, base, self.validation, seed)

    def reweighted(self, weights: Sequence[float], scales: Sequence[float]) -> WeightedUtility:
        """v(S) by the rule's weighted mean ``sum w_i s_i x_i / sum w_i`` over S instead."""
        return WeightedUtility(self, weights, scales)

    def class_accuracies(self, delta: torch.Tensor) -> list[float]:
        """Per-class validation accuracy of base + ``delta`` (0 for a class with no sample)."""
        return self.evaluator.per_class(self.base + delta.to(torch.float64))

    def shortcuts(self, rows: Sequence[int], reference: torch.Tensor,
                  seed: int) -> list[Shortcut]:
        """The trigger scan of these rows' local models (:mod:`aggregator.trigger_scan`).

        ``reference`` is the round's reference (seed ``seed``); the others are trained here
        with the next seeds. Empty when the models have not learned the task
        (:func:`aggregator.trigger_scan.learned`): nothing is judged.
        """
        accuracies = [self.evaluator(self.base + self.updates[i].to(torch.float64))
                      for i in rows]
        if not learned(accuracies, self.spec.num_classes):
            return []  # trigger_scan.learned: none judged; skip the references and the search
        references = [reference, *(self.reference_update((seed + k) % 2**64)
                                   for k in range(1, REFERENCES))]
        return scan_shortcuts(self.spec, self.base, self.updates, rows, self.validation,
                              references, accuracies, seed)


class WeightedUtility:
    """``v(S)``: accuracy of base + ``sum_{i in S} w_i s_i x_i / sum_{i in S} w_i`` (cached).

    A coalition whose weights sum to 0 is valued as the base model (it moves nothing).
    """

    def __init__(self, source: ValidationUtility, weights: Sequence[float],
                 scales: Sequence[float]):
        self.source = source
        self.weights = [float(w) for w in weights]
        self.scales = [float(s) for s in scales]
        self.cache: dict[tuple[int, ...], float] = {}

    def __call__(self, subset: tuple[int, ...]) -> float:
        """v(subset), cached."""
        key = tuple(sorted(subset))
        if key not in self.cache:
            self.cache[key] = self._value(key)
        return self.cache[key]

    def _value(self, subset: tuple[int, ...]) -> float:
        total = sum(self.weights[i] for i in subset)
        vector = self.source.base
        if subset and total > 0:
            coef = torch.tensor([self.weights[i] * self.scales[i] / total for i in subset],
                                dtype=torch.float64)
            vector = self.source.base + coalition_sum(self.source.updates, coef, list(subset))
        return self.source.evaluator(vector)


class AccuracyEvaluator:
    """:func:`model_accuracy` for many weight vectors on one dataset, reusing one model.

    Shapley scoring evaluates thousands of coalitions a round (measured: 2,300 for 10 trainers
    over 3 rounds); building the model and converting the data each time took most of the
    round. Same forward pass in the same batches, so the same accuracies.
    """

    def __init__(self, spec: ModelSpec, data: Dataset, batch_size: int = 1024):
        self.spec = spec
        self.model = build_model(spec).eval()
        x = torch.from_numpy(np.ascontiguousarray(data.x, dtype=np.float32))
        self.x = x.reshape(len(data), *spec.input_shape)
        self.y = torch.from_numpy(np.ascontiguousarray(data.y, dtype=np.int64))
        self.batch_size = batch_size

    def __call__(self, flat_weights: torch.Tensor) -> float:
        """Accuracy in [0, 1] of the model with ``flat_weights`` (float32 as stored)."""
        return float((self._predict(flat_weights) == self.y).sum()) / len(self.y)

    def per_class(self, flat_weights: torch.Tensor) -> list[float]:
        """Accuracy on each class's samples, classes ``0 .. num_classes - 1`` (0 if none)."""
        hit = self._predict(flat_weights) == self.y
        out = []
        for c in range(self.spec.num_classes):
            mine = self.y == c
            count = int(mine.sum())
            out.append(float(hit[mine].sum()) / count if count else 0.0)
        return out

    def _predict(self, flat_weights: torch.Tensor) -> torch.Tensor:
        weights = unflatten(flat_weights.to(torch.float32), self.spec)
        set_weights(self.model, full_weights(self.spec, weights))  # lora: merged into the base
        with torch.no_grad():
            return torch.cat([self.model(self.x[i:i + self.batch_size]).argmax(dim=1)
                              for i in range(0, len(self.y), self.batch_size)])


def model_accuracy(spec: ModelSpec, flat_weights: torch.Tensor, data: Dataset) -> float:
    """Accuracy of the spec's model with ``flat_weights`` on ``data`` (CPU, deterministic)."""
    weights = unflatten(flat_weights.to(torch.float32), spec)
    accuracy, _ = evaluate_weights(spec, weights, data, device="cpu")
    return float(accuracy)
