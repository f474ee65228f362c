"""The canonical round result: what the aggregator publishes and verifiers re-derive.

Bytes are JSON with sorted keys, no whitespace, ASCII only, no NaN/Infinity
(``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
allow_nan=False)``), UTF-8. Wei amounts are decimal strings; contribution scores are integers in
micro-units (:data:`CONTRIBUTION_SCALE`); robustness scores are finite JSON numbers
(Python's shortest round-trip repr). ``resultHash = keccak256(bytes)`` is what goes on chain.

Shape (version 1)::

    {"version": 1, "project": 7, "round": 0,
     "rule": {"name": "multi_krum", "params": {"f": 2}},
     "scorer": {"name": "cosine", "params": {}}, "fallback": "equal",
     "seed": "0x<32 bytes>", "base_model_cid": "...", "model_cid": "...",
     "pool": "1000", "total": "999", "rewards_root": "0x<32 bytes, zero if nothing is paid>",
     "trainers": [{"address": "0xChecksummed", "update_cid": "...", "samples": 100,
                   "accepted": true, "reason": null, "robustness": {"krum_score": 1.5},
                   "contribution": 250000, "reward": "333"}, ...]}

Trainers are listed in ascending address order (the round's canonical order). A rejected trainer
has a non-empty ``reason`` and reward 0; ``total`` is the sum of rewards and at most ``pool``;
``rewards_root`` is the root of :func:`fedmarket.merkle.reward_tree` over the rewards.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils import is_checksum_address, keccak

from fedmarket.errors import VerificationError
from fedmarket.merkle import reward_tree

__all__ = ["RESULT_VERSION", "ZERO_ROOT", "CONTRIBUTION_SCALE", "RoundResultError",
           "TrainerEntry", "RoundResult", "payout_leaves", "canonical_json"]

RESULT_VERSION = 1
ZERO_ROOT = "0x" + "00" * 32
# Contributions are published as integers: score x 10**6 (micro-units), so wei amounts split
# from them are exact and anyone reading a result can turn them back into scores.
CONTRIBUTION_SCALE = 10**6


class RoundResultError(VerificationError):
    """A round result is malformed, non-canonical or internally inconsistent."""


@dataclass(frozen=True)
class TrainerEntry:
    """One trainer's line in the round result."""

    address: str
    update_cid: str
    samples: int
    accepted: bool
    reason: str | None
    robustness: Mapping[str, float] = field(default_factory=dict)
    contribution: int = 0
    reward: int = 0

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object of this entry."""
        return {
            "address": self.address,
            "update_cid": self.update_cid,
            "samples": self.samples,
            "accepted": self.accepted,
            "reason": self.reason,
            "robustness": {k: float(v) for k, v in self.robustness.items()},
            "contribution": self.contribution,
            "reward": str(self.reward),
        }


@dataclass(frozen=True)
class RoundResult:
    """The canonical result of one aggregation round."""

    project: int
    round: int
    rule: str
    rule_params: Mapping[str, Any]
    scorer: str
    scorer_params: Mapping[str, Any]
    seed: int
    base_model_cid: str
    model_cid: str
    pool: int
    trainers: tuple[TrainerEntry, ...]
    rewards_root: str = ZERO_ROOT
    fallback: str = "equal"
    version: int = RESULT_VERSION
    # Measurements of the round's models (e.g. validation "accuracy" of the new global model
    # and "base_accuracy" of the one it started from); floats, re-checked within a tolerance.
    metrics: Mapping[str, float] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Return the sum of all rewards, in wei."""
        return sum(t.reward for t in self.trainers)

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object (before canonical serialisation)."""
        return {
            "version": self.version,
            "project": self.project,
            "round": self.round,
            "rule": {"name": self.rule, "params": dict(self.rule_params)},
            "scorer": {"name": self.scorer, "params": dict(self.scorer_params)},
            "fallback": self.fallback,
            "seed": "0x" + self.seed.to_bytes(32, "big").hex(),
            "base_model_cid": self.base_model_cid,
            "model_cid": self.model_cid,
            "pool": str(self.pool),
            "total": str(self.total),
            "rewards_root": self.rewards_root,
            "trainers": [t.to_json() for t in self.trainers],
            "metrics": {k: float(v) for k, v in sorted(self.metrics.items())},
        }

    def to_bytes(self) -> bytes:
        """Return the canonical bytes (validated first)."""
        self.validate()
        return canonical_json(self.to_json())

    def result_hash(self) -> bytes:
        """Return ``keccak256(canonical bytes)``, the on-chain ``resultHash``."""
        return keccak(self.to_bytes())

    def result_hash_hex(self) -> str:
        """Return :meth:`result_hash` as ``0x``-prefixed hex."""
        return "0x" + self.result_hash().hex()

    def validate(self) -> None:
        """Raise :class:`RoundResultError` unless the result is internally consistent."""
        _check(self.version == RESULT_VERSION, f"unsupported version {self.version}")
        for name in ("project", "round", "pool"):
            value = getattr(self, name)
            _check(_is_uint(value), f"{name} must be a non-negative integer, got {value!r}")
        _check(0 <= self.seed < 2**256, "seed must be a uint256")
        _check(self.fallback in ("equal", "none"), f"unknown fallback {self.fallback!r}")
        _check(self.total <= self.pool, f"total {self.total} exceeds pool {self.pool}")
        addresses = [t.address for t in self.trainers]
        _check(
            [a.lower() for a in addresses] == sorted({a.lower() for a in addresses}),
            "trainers must be unique and sorted by address",
        )
        for t in self.trainers:
            _check(is_checksum_address(t.address), f"bad checksum address {t.address!r}")
            _check(_is_uint(t.samples), f"{t.address}: samples must be a non-negative integer")
            _check(_is_uint(t.reward), f"{t.address}: reward must be a non-negative integer")
            _check(
                isinstance(t.contribution, int) and not isinstance(t.contribution, bool),
                f"{t.address}: contribution must be an integer (micro-units)",
            )
            if t.accepted:
                _check(t.reason is None, f"{t.address}: an accepted trainer has no reason")
            else:
                _check(bool(t.reason), f"{t.address}: a rejected trainer needs a reason")
                _check(t.reward == 0, f"{t.address}: a rejected trainer is paid nothing")
            for key, value in t.robustness.items():
                _check(
                    isinstance(value, int | float) and math.isfinite(value),
                    f"{t.address}: robustness {key!r} must be a finite number",
                )
        for key, value in self.metrics.items():
            _check(
                isinstance(key, str) and isinstance(value, int | float)
                and not isinstance(value, bool) and math.isfinite(value),
                f"metric {key!r} must be a finite number",
            )
        tree = reward_tree(self.project, self.round, payout_leaves(self.trainers))
        root = tree.root_hex if tree is not None else ZERO_ROOT
        _check(root == self.rewards_root, f"rewards_root {self.rewards_root} != {root}")

    @classmethod
    def from_bytes(cls, data: bytes, *, require_canonical: bool = True) -> RoundResult:
        """Parse and validate a round result; by default the bytes must be canonical."""
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RoundResultError(f"round result is not JSON: {exc}") from exc
        result = cls.from_json(obj)
        if require_canonical and canonical_json(result.to_json()) != data:
            raise RoundResultError("round result bytes are not canonical")
        return result

    @classmethod
    def from_json(cls, obj: Any) -> RoundResult:
        """Build and validate a result from its JSON object."""
        top = {
            "version", "project", "round", "rule", "scorer", "seed", "base_model_cid",
            "model_cid", "pool", "total", "rewards_root", "trainers", "fallback",
        }  # fmt: skip
        metrics = obj.get("metrics", {}) if isinstance(obj, dict) else {}
        if isinstance(obj, dict) and "metrics" in obj:
            obj = {k: v for k, v in obj.items() if k != "metrics"}
        _check(isinstance(metrics, dict), "metrics must be a map")
        _keys(obj, top, "round result")
        _keys(obj["rule"], {"name", "params"}, "rule")
        _keys(obj["scorer"], {"name", "params"}, "scorer")
        entries = []
        _check(isinstance(obj["trainers"], list), "trainers must be a list")
        keys = {"address", "update_cid", "samples", "accepted", "reason", "robustness",
                "contribution", "reward"}  # fmt: skip
        for i, t in enumerate(obj["trainers"]):
            _keys(t, keys, f"trainers[{i}]")
            _check(isinstance(t["accepted"], bool), f"trainers[{i}].accepted must be a boolean")
            _check(isinstance(t["robustness"], dict), f"trainers[{i}].robustness must be a map")
            entries.append(
                TrainerEntry(
                    address=_str(t["address"], f"trainers[{i}].address"),
                    update_cid=_str(t["update_cid"], f"trainers[{i}].update_cid"),
                    samples=t["samples"],
                    accepted=t["accepted"],
                    reason=t["reason"],
                    robustness=dict(t["robustness"]),
                    contribution=t["contribution"],
                    reward=_wei(t["reward"], f"trainers[{i}].reward"),
                )
            )
        seed_hex = _str(obj["seed"], "seed")
        _check(_is_hex32(seed_hex), "seed must be 0x-prefixed 32-byte hex")
        root = _str(obj["rewards_root"], "rewards_root")
        _check(_is_hex32(root) and root == root.lower(), "rewards_root must be lowercase hex32")
        _check(isinstance(obj["rule"]["params"], dict), "rule.params must be a map")
        _check(isinstance(obj["scorer"]["params"], dict), "scorer.params must be a map")
        result = cls(
            project=obj["project"],
            round=obj["round"],
            rule=_str(obj["rule"]["name"], "rule.name"),
            rule_params=obj["rule"]["params"],
            scorer=_str(obj["scorer"]["name"], "scorer.name"),
            scorer_params=obj["scorer"]["params"],
            seed=int(seed_hex, 16),
            base_model_cid=_str(obj["base_model_cid"], "base_model_cid"),
            model_cid=_str(obj["model_cid"], "model_cid"),
            pool=_wei(obj["pool"], "pool"),
            trainers=tuple(entries),
            rewards_root=root,
            fallback=_str(obj["fallback"], "fallback"),
            version=obj["version"],
            metrics=dict(metrics),
        )
        result.validate()
        total = _wei(obj["total"], "total")
        _check(total == result.total, f"total {total} != sum of rewards {result.total}")
        return result


def payout_leaves(trainers: Sequence[TrainerEntry]) -> list[tuple[str, int]]:
    """The rewards tree's leaves: every paid trainer, and every rejected one with amount 0.

    The distributor records a settled leaf with amount > 0 as an accepted round and one with
    amount 0 as a rejected round, so rejected trainers get a zero leaf (the aggregator settles
    it) while an accepted trainer whose contribution came out non-positive gets no leaf at
    all: neither paid nor penalised.
    """
    return [(t.address, t.reward) for t in trainers if t.reward > 0 or not t.accepted]


def canonical_json(obj: Any) -> bytes:
    """Serialise ``obj`` canonically (sorted keys, no whitespace, ASCII, no NaN)."""
    try:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                          allow_nan=False)  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise RoundResultError(f"round result is not serialisable: {exc}") from exc
    return text.encode("ascii")


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise RoundResultError(f"invalid round result: {message}")


def _keys(obj: Any, expected: set[str], where: str) -> None:
    _check(isinstance(obj, dict), f"{where} must be an object")
    missing = expected - set(obj)
    extra = set(obj) - expected
    _check(not missing, f"{where} lacks {sorted(missing)}")
    _check(not extra, f"{where} has unknown keys {sorted(extra)}")


def _str(value: Any, where: str) -> str:
    _check(isinstance(value, str), f"{where} must be a string")
    return str(value)


def _wei(value: Any, where: str) -> int:
    ok = isinstance(value, str) and value.isdigit() and value.isascii()
    ok = ok and (value == "0" or not value.startswith("0"))
    _check(ok, f"{where} must be a decimal string of wei, got {value!r}")
    return int(value)


def _is_uint(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_hex32(value: str) -> bool:
    body = value.removeprefix("0x")
    hexdigits = "0123456789abcdefABCDEF"
    return value.startswith("0x") and len(body) == 64 and all(c in hexdigits for c in body)
