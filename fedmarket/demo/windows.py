"""The demo's phase windows, sized from the work it is about to run, measured on this machine.

Fixed windows failed under load: a busy machine (load average 15-28) ran a trainer's round or a
verifier's re-execution several times slower than an idle one, the committee missed a 12-second
verify window and the round was refunded. So before posting, the demo times what each window
must hold — one trainer's local training on the largest shard, and one round computation (the
rule, the scoring, the new model) on as many updates as the round will have — on this machine,
under its present load, single-threaded as the role processes run. Each window is then a
:data:`MARGIN` multiple of that work (the load may grow after the measurement), with the
machine's cores shared among the roles that work at the same time, plus :data:`SLACK` for the
store, the transactions and the role loops' polling; never below the deployment's floor and
never above :data:`CAP`.

Long windows cost an honest round nothing: commit and reveal close as soon as every trainer
acted, and a round settles as soon as a majority of its committee agreed.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import torch

from aggregator.round import RoundInputs, compute_round_or_reject_all
from aggregator.service import round_spec_of
from aggregator.utility import ValidationUtility
from fedmarket.codec import flatten
from fedmarket.datasets import Dataset
from fedmarket.demo.config import PhaseWindows
from fedmarket.models import initial_weights
from fedmarket.modelspec import ModelSpec
from trainer.local_training import train_local

__all__ = ["MeasuredWork", "measure_work", "size_windows", "MARGIN", "SLACK",
           "CAP"]

#: Multiple of the measured work each window holds: the issue's loaded machine ran roles about
#: 3x slower than an idle one, so 5x leaves room for load that arrives after the measurement.
MARGIN = 5.0
#: Seconds added to every working window: storing, a transaction or two, the loops' backoff.
SLACK = 20
#: No window longer than this: a demo that needs more is better told it cannot keep up.
CAP = 1800


@dataclass(frozen=True)
class MeasuredWork:
    """What one round asks of this machine, measured single-threaded just before posting."""

    train_seconds: float  # one trainer's local training on the largest shard
    compute_seconds: float  # one round computation (rule + scoring + new model)
    cores: int


def measure_work(spec: ModelSpec, shards: list[Dataset], validation: Dataset | None,
                 seed: int = 0) -> MeasuredWork:
    """Time one local training and one round computation with the project's own spec."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the role processes run (OMP_NUM_THREADS=1)
    try:
        weights = initial_weights(spec)
        started = time.perf_counter()
        update = train_local(spec, weights, max(shards, key=len), device="cpu", seed=seed)
        train_seconds = time.perf_counter() - started

        # As many updates as the round will have: the measured one, each scaled differently
        # (seeded), so the rule and the scoring do the work of a real round.
        row = flatten(update.delta)
        generator = torch.Generator().manual_seed(seed)
        scales = 0.5 + torch.rand(len(shards), generator=generator, dtype=torch.float32)
        updates = scales[:, None] * row[None, :]
        samples = [len(shard) for shard in shards]
        trainers = [f"0x{i + 1:040x}" for i in range(len(shards))]
        inputs = RoundInputs(project=0, round=1, trainers=trainers,
                             update_cids=[f"calibration-{i}" for i in range(len(shards))],
                             samples=samples, updates=updates, base_model_cid="calibration",
                             pool=10**18, global_model=flatten(weights))
        utility = (ValidationUtility(spec, weights, updates, samples, validation)
                   if validation is not None else None)
        started = time.perf_counter()
        compute_round_or_reject_all(inputs, round_spec_of(spec), model_cid=lambda _: "",
                                    utility=utility)
        compute_seconds = time.perf_counter() - started
    finally:
        torch.set_num_threads(threads)
    return MeasuredWork(train_seconds, compute_seconds, os.cpu_count() or 1)


def size_windows(work: MeasuredWork, trainers: int, verifiers: int, floor: int) -> PhaseWindows:
    """Windows that hold :data:`MARGIN` times the measured work, within ``[floor, CAP]``.

    All trainers train at once and all verifiers re-execute at once, sharing the cores: the
    last of ``k`` finishes after ``ceil(k / cores)`` times one's work.
    """

    def window(seconds: float, at_once: int = 1) -> int:
        needed = MARGIN * seconds * math.ceil(at_once / work.cores) + SLACK
        return max(floor, min(CAP, math.ceil(needed)))

    return PhaseWindows(commit=window(work.train_seconds, trainers), reveal=floor,
                        aggregate=window(work.compute_seconds),
                        verify=window(work.compute_seconds, verifiers))
