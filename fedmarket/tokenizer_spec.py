"""The spec's posted-tokenizer value: ``"tokenizer": {"kind": "json", "cid": CID}``.

A text project tokenizes either with the built-in byte tokenizer (``"tokenizer": "bytes"``, as
every spec posted before this one says, so their JSON and hash are unchanged) or with a
Hugging Face ``tokenizers`` JSON file the owner stored by CID (:mod:`fedmarket.posted_tokenizer`
loads and checks it). The CID is part of the spec hash, so every trainer, the aggregator and
every verifier tokenize with the very same file; nothing is ever fetched from a model hub. This
module has no ``tokenizers`` import, so a spec loads without the library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fedmarket.errors import ConfigError
from fedmarket.spec_checks import check_keys

__all__ = ["PostedTokenizer", "POSTED_TOKENIZER_KINDS", "tokenizer_from_json"]

# "json": a file Tokenizer.from_str reads. A kind, not a bare CID, so other formats can follow.
POSTED_TOKENIZER_KINDS = ("json",)


@dataclass(frozen=True)
class PostedTokenizer:
    """A tokenizer file the owner posted: its ``kind`` and content ``cid``."""

    cid: str
    kind: str = "json"

    def __post_init__(self) -> None:
        if self.kind not in POSTED_TOKENIZER_KINDS:
            raise ConfigError(f"tokenizer.kind {self.kind!r} is unknown; choose one of "
                              f"{list(POSTED_TOKENIZER_KINDS)}")
        if not isinstance(self.cid, str) or not self.cid.strip():
            raise ConfigError(f"tokenizer.cid must be the CID of the posted tokenizer file, "
                              f"got {self.cid!r}")

    def to_dict(self) -> dict[str, Any]:
        """The spec's JSON value."""
        return {"kind": self.kind, "cid": self.cid}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PostedTokenizer:
        """Parse the spec's ``tokenizer`` object (unknown keys refused)."""
        check_keys("tokenizer", data, ("kind", "cid"), required=("kind", "cid"))
        return cls(cid=data["cid"], kind=data["kind"])


def tokenizer_from_json(value: Any) -> str | PostedTokenizer:
    """The spec's ``tokenizer`` field as JSON gives it: a built-in's name or a posted file."""
    if isinstance(value, Mapping):
        return PostedTokenizer.from_dict(value)
    if isinstance(value, str):
        return value
    raise ConfigError(f"tokenizer must be a built-in name (\"bytes\") or "
                      f"{{\"kind\": \"json\", \"cid\": CID}}, got {value!r}")
