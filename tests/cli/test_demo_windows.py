"""The demo's phase windows hold a margin over the work measured on the machine it runs on."""

from __future__ import annotations

import math

import torch

from fedmarket.datasets import holdout_split, load_data, partition
from fedmarket.demo.config import DemoConfig, PhaseWindows
from fedmarket.demo.windows import CAP, MARGIN, SLACK, MeasuredWork, measure_work, size_windows
from fedmarket.owner import build_spec, owner_validation


def test_each_window_holds_the_margin_over_the_work_done_at_once_on_the_cores() -> None:
    work = MeasuredWork(train_seconds=4.0, compute_seconds=9.0, cores=2)

    windows = size_windows(work, trainers=8, verifiers=3, floor=60)

    # 8 trainers on 2 cores: the last finishes after 4 trainings; 3 verifiers: after 2.
    assert windows.commit == math.ceil(MARGIN * 4.0 * 4 + SLACK)
    assert windows.aggregate == math.ceil(MARGIN * 9.0 + SLACK)
    assert windows.verify == math.ceil(MARGIN * 9.0 * 2 + SLACK)
    assert windows.reveal == 60  # a transaction per trainer: the floor


def test_a_slower_machine_gets_longer_windows_within_the_floor_and_the_cap() -> None:
    fast = size_windows(MeasuredWork(0.1, 0.1, 2), trainers=3, verifiers=3, floor=60)
    slow = size_windows(MeasuredWork(30.0, 40.0, 2), trainers=3, verifiers=3, floor=60)
    stalled = size_windows(MeasuredWork(1e6, 1e6, 2), trainers=3, verifiers=3, floor=60)

    assert fast == PhaseWindows(60, 60, 60, 60)
    assert slow.commit > fast.commit and slow.aggregate > fast.aggregate
    assert slow.verify > fast.verify
    assert stalled == PhaseWindows(CAP, 60, CAP, CAP)


def test_the_measurement_times_the_demo_projects_own_work_single_threaded() -> None:
    config = DemoConfig(trainers=5, malicious=0)
    spec = build_spec(config.project_request(PhaseWindows(60, 60, 60, 60)), "validation")
    rest, _ = holdout_split(load_data("digits"), fraction=0.2, seed=0)
    threads = torch.get_num_threads()

    work = measure_work(spec, partition(rest, 5, alpha=0.5, seed=7), owner_validation("digits"))

    assert work.train_seconds > 0 and work.compute_seconds > 0 and work.cores >= 1
    assert torch.get_num_threads() == threads  # restored for whatever runs next
