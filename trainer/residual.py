"""A top-k trainer's error-feedback residual, kept on disk between rounds.

Top-k sends the largest ``fraction`` of each tensor's values; what it leaves out is added to the
next round's update (error feedback, Stich et al. 2018), so it is delayed, not lost. That
residual lives in the trainer's state directory (the one that holds its pending reveals) as
``residual-<trainer>-<project>.safetensors``: float32 tensors by name, with the project's spec
hash and the round it was made in as metadata. It is private (it is part of what the trainer
learnt from its data) and never uploaded.

Losing it is harmless: a missing, unreadable or foreign (other spec, other shapes) file starts
from zero, exactly as in the project's first round — only the values it held are dropped. It is
written (atomically) once the round's update is stored, before the commitment is sent.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from fedmarket.compression import ErrorFeedback
from fedmarket.modelspec import ModelSpec

__all__ = ["residual_path", "load_feedback", "save_feedback"]


def residual_path(state_dir: Path, trainer: str, project: int) -> Path:
    """Where the residual of ``trainer`` in ``project`` is kept."""
    return Path(state_dir) / f"residual-{trainer.lower()}-{project}.safetensors"


def load_feedback(path: Path, spec: ModelSpec) -> ErrorFeedback:
    """The residual at ``path``, or an empty one if it is missing or does not fit ``spec``."""
    try:
        residual = load_file(str(path))
        with safe_open(str(path), "pt") as opened:
            meta = opened.metadata() or {}
    except (OSError, SafetensorError, ValueError):
        return ErrorFeedback()
    shapes = spec.param_shapes()
    if meta.get("spec_hash") != spec.hash() or {n: tuple(t.shape) for n, t in residual.items()} \
            != shapes or any(t.dtype != torch.float32 for t in residual.values()):
        return ErrorFeedback()
    return ErrorFeedback(residual)


def save_feedback(path: Path, feedback: ErrorFeedback, spec: ModelSpec, round_: int) -> None:
    """Write the residual atomically (a crash leaves the old file or the new one)."""
    if not feedback.residual:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    save_file({n: t.contiguous() for n, t in feedback.residual.items()}, str(partial),
              metadata={"spec_hash": spec.hash(), "round": str(round_)})
    os.replace(partial, path)
