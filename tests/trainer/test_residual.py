"""A top-k trainer's residual survives a restart, and a lost or foreign one starts from zero."""

from __future__ import annotations

from pathlib import Path

import torch

from fedmarket.compression import ErrorFeedback
from fedmarket.compression_spec import Compression
from fedmarket.modelspec import ModelSpec
from trainer.residual import load_feedback, residual_path, save_feedback

TOPK = Compression("topk", 0.1)
TRAINER = "0x" + "cd" * 20


def spec(hidden: int = 8) -> ModelSpec:
    return ModelSpec("mlp", (16,), 3, hidden=(hidden,), compression=TOPK)


def test_the_residual_is_reloaded_exactly_after_a_restart(tmp_path: Path) -> None:
    s = spec()
    gen = torch.Generator().manual_seed(0)
    feedback = ErrorFeedback()
    feedback.step({n: torch.randn(sh, generator=gen) for n, sh in s.param_shapes().items()}, TOPK)
    path = residual_path(tmp_path, TRAINER, 4)

    save_feedback(path, feedback, s, round_=1)
    loaded = load_feedback(path, s)

    assert path.name == f"residual-{TRAINER.lower()}-4.safetensors"
    assert set(loaded.residual) == set(feedback.residual)
    assert all(torch.equal(loaded.residual[n], feedback.residual[n]) for n in loaded.residual)


def test_a_missing_corrupt_or_foreign_residual_starts_from_zero(tmp_path: Path) -> None:
    s = spec()
    path = residual_path(tmp_path, TRAINER, 4)
    assert load_feedback(path, s).residual == {}  # missing

    path.write_bytes(b"not safetensors")
    assert load_feedback(path, s).residual == {}  # corrupt

    other = spec(hidden=9)
    feedback = ErrorFeedback({n: torch.ones(sh) for n, sh in other.param_shapes().items()})
    save_feedback(path, feedback, other, round_=1)
    assert load_feedback(path, s).residual == {}  # made for another spec
