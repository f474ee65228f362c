"""Where data meets a spec: refuse samples the project's model cannot read, before money moves.

Checked when an owner posts validation data, when an aggregator bonds, and when a trainer
starts (``trainer run``, before any round): a mismatch is one sentence naming both sides and
costs nothing. Nothing is converted behind the owner's back — no channel is dropped or added,
no image resized, no sequence cut: the data must already be what the spec says.

- ``features``: any sample shape with the spec's number of values (an 8×8 image is 64
  features: the MLP flattens every sample anyway);
- ``image``: samples exactly C×H×W as the spec says, or flat vectors of C·H·W values (a CSV
  or the digits have no shape of their own; they are read in C, H, W order);
- ``tokens``: sequences of exactly the spec's length, integer ids inside the vocabulary.

Labels are class ids below ``num_classes``.
"""

from __future__ import annotations

import math

import numpy as np

from fedmarket.architectures import TransformerArch
from fedmarket.datasets import DataOptions, Dataset
from fedmarket.errors import DataError
from fedmarket.modelspec import ModelSpec

__all__ = ["check_fits", "shape_text", "read_options"]


def shape_text(shape: tuple[int, ...]) -> str:
    """``3x16x16`` for (3, 16, 16)."""
    return "x".join(map(str, shape))


def read_options(spec: ModelSpec, label_column: int | str | None = None,
                 text_column: str | None = None) -> DataOptions:
    """How a trainer reads its files for ``spec``: text is tokenized to the spec's length.

    With the spec's own tokenizer: the byte one, or the posted file, which
    :func:`fedmarket.protocol.load_spec` fetched and checked.
    """
    if spec.input_kind != "tokens":
        return DataOptions(label_column=label_column, text_column=text_column)
    from fedmarket.posted_tokenizer import text_encoder

    return DataOptions(label_column=label_column, text_column=text_column,
                       max_len=spec.input_shape[0], encoder=text_encoder(spec))


def check_fits(data: Dataset, spec: ModelSpec) -> None:
    """Raise :class:`DataError` if ``data`` does not fit the spec's input and classes."""
    if len(data) == 0:
        raise DataError(f"{data.source} holds no samples")
    have, need = data.feature_shape, spec.input_shape
    if spec.input_kind == "features":
        if math.prod(have) != math.prod(need):
            raise DataError(f"{data.source}: samples have {math.prod(have)} features "
                            f"({shape_text(have)}) but the model expects {math.prod(need)} "
                            f"(input shape {shape_text(need)})")
    elif spec.input_kind == "image":
        flat = len(have) == 1 and have[0] == math.prod(need)
        if have != need and not flat:
            raise DataError(f"{data.source}: images are {shape_text(have)} but the model expects "
                            f"{shape_text(need)} (channels x height x width); channels and sizes "
                            "are never converted, so convert the data or post a matching spec")
    else:
        _check_tokens(data, spec)
    top = int(data.y.max())
    if top >= spec.num_classes:
        raise DataError(f"{data.source}: label {top} is out of range for the model's "
                        f"{spec.num_classes} classes (labels must be 0..{spec.num_classes - 1})")


def _check_tokens(data: Dataset, spec: ModelSpec) -> None:
    have, need = data.feature_shape, spec.input_shape
    if have != need:
        raise DataError(f"{data.source}: token sequences are {shape_text(have)} long but the "
                        f"model reads {shape_text(need)}; tokenize with max length {need[0]}")
    x = data.x
    if not np.array_equal(x, np.round(x)):
        raise DataError(f"{data.source}: token ids must be integers, found fractions")
    vocab = spec.arch.vocab_size if isinstance(spec.arch, TransformerArch) else 0
    low, high = float(x.min()), float(x.max())
    if low < 0 or high >= vocab:
        bad = int(high) if high >= vocab else int(low)
        raise DataError(f"{data.source}: token id {bad} is outside the model's vocabulary "
                        f"of {vocab} ids (0..{vocab - 1})")
