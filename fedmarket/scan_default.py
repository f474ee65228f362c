"""Whether a project that did not choose gets the trigger scan (:mod:`aggregator.trigger_scan`).

Here, not in the aggregator, because the owner's side decides it when it builds the spec: the
bar is written into the posted spec (``aggregation.params.shortcut_bar``), so trainers see
before joining what their updates will be judged by, and verifiers re-execute the same.
"""

from __future__ import annotations

from fedmarket.modelspec import ModelSpec

__all__ = ["DEFAULT_BAR", "DEFAULT_MAX_PARAMS", "default_shortcut_bar"]

#: The bar a project gets by default where :func:`default_shortcut_bar` turns the scan on.
DEFAULT_BAR = 0.5
#: Largest model (scalars) the scan is on for by default: the search is ``N x C`` batched
#: forward/backward passes per step, about 3 s a round for ten 4.8k-parameter digits MLPs.
DEFAULT_MAX_PARAMS = 100_000


def default_shortcut_bar(spec: ModelSpec) -> float:
    """The scan's bar for a project that did not choose one: :data:`DEFAULT_BAR` or 0 (off).

    On only where it was measured to reject backdoors and not honest trainers (honest-only
    federations of 10 parties, 3 rounds, seeds 0-2, IID and Dirichlet 0.5, 5 local Adam epochs
    and one of SGD; the README's "What the scan decides from"): feature vectors with at least
    three classes (digits, 10 classes: 1 of 360 honest party-rounds rejected; wine, 3 classes:
    1 of 360), full training (no LoRA base, whose size the search would scale with) and a small
    model. Off for two classes (breast cancer: 10 of 90 in the Dirichlet splits with Adam —
    with two classes the cheapest mask is the model's weaker class), images (a 4-class CNN on
    3x16x16 shapes: 7 of 30 in one IID seed, and about 85 s a round), tokens (no mask can be laid on
    ids) and anything larger; an owner can still choose a bar there.
    """
    if (spec.input_kind == "features" and spec.num_classes >= 3 and spec.lora is None
            and spec.num_params() <= DEFAULT_MAX_PARAMS):
        return DEFAULT_BAR
    return 0.0
