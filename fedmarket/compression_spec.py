"""The spec's optional ``compression`` section: how every trainer of a project sends its update.

``{"kind": "int8"}`` or ``{"kind": "topk", "fraction": 0.1}``; absent (or ``"none"``) means plain
float32 tensors. The owner chooses it when posting, it is part of the spec hash, and every
update file's header says which form it is in (:mod:`fedmarket.codec_compressed`), so an update
in another form than the project's is refused before it can be paid. The encoding itself lives
in :mod:`fedmarket.compression`; this module has no torch, so the spec loads without it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fedmarket.errors import ConfigError
from fedmarket.spec_checks import finite, section

__all__ = ["Compression", "COMPRESSION_KINDS", "INT8_BLOCK", "topk_count"]

COMPRESSION_KINDS = ("none", "int8", "topk")
#: Values sharing one int8 scale: small enough that one outlier coarsens only its block (a
#: per-tensor scale lets the largest bias step flatten a whole weight matrix), large enough that
#: the scales cost 0.1 % of the payload. Part of the wire format: changing it is a codec change.
INT8_BLOCK = 4096
DEFAULT_FRACTION = 0.01


@dataclass(frozen=True)
class Compression:
    """What a project's spec asks: ``kind`` "none", "int8" or "topk" (with ``fraction``)."""

    kind: str = "none"
    fraction: float = DEFAULT_FRACTION  # top-k only: the share of each tensor's values sent

    def __post_init__(self) -> None:
        if isinstance(self.fraction, int) and not isinstance(self.fraction, bool):
            object.__setattr__(self, "fraction", float(self.fraction))
        if self.kind not in COMPRESSION_KINDS:
            raise ConfigError(f"compression {self.kind!r} is unknown; choose one of "
                              f"{list(COMPRESSION_KINDS)}")
        if self.kind == "topk":
            finite("compression.fraction", self.fraction, positive=True)
            if self.fraction > 1:
                raise ConfigError(f"top-k fraction must be in (0, 1], got {self.fraction}")
        else:  # the fraction means nothing here: one canonical value, so equal specs are equal
            object.__setattr__(self, "fraction", DEFAULT_FRACTION)

    def to_dict(self) -> dict[str, Any]:
        """The spec's JSON section (``fraction`` only for top-k)."""
        return {"kind": self.kind, "fraction": self.fraction} if self.kind == "topk" \
            else {"kind": self.kind}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Compression:
        """Parse the spec's ``compression`` section (unknown keys refused)."""
        body = section("compression", data, ("kind", "fraction"))
        if body.get("kind", "none") != "topk" and "fraction" in body:
            raise ConfigError("compression.fraction only applies to kind 'topk'")
        return cls(**body)


def topk_count(fraction: float, size: int) -> int:
    """Values a top-k tensor of ``size`` values sends: ``ceil(fraction * size)``, at least one."""
    return min(size, max(1, math.ceil(fraction * size)))
