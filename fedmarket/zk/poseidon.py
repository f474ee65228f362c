"""Poseidon over BN254, bit-for-bit the ``Poseidon(nInputs)`` template of circomlib 2.0.5.

This is a port of circomlib's optimized ``PoseidonEx`` (full rounds with the ``M`` and ``P``
matrices, partial rounds with the sparse ``S`` matrices), x^5 S-box, 8 full rounds and the
partial-round counts of the Poseidon paper (Grassi et al., 2019, table 2). The constants are
those of ``circomlib/circuits/poseidon_constants.circom``, extracted once by ``scripts/zk-setup``
into ``artifacts/poseidon_constants.json`` for the widths the round circuits use, so verifying
a proof in Python needs neither Node nor circomlib. ``tests/zk`` checks the result against
hashes the compiled circuit computed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["FIELD_MODULUS", "poseidon", "extract_constants", "CONSTANTS_FILE"]

# BN254 scalar field: circom signals and Groth16 public inputs live here.
FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617

CONSTANTS_FILE = Path(__file__).with_name("artifacts") / "poseidon_constants.json"

_N_ROUNDS_F = 8
_N_ROUNDS_P = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68]


class _Params:
    def __init__(self, t: int, raw: dict[str, Any]):
        self.t = t
        self.rounds_p = _N_ROUNDS_P[t - 2]
        self.c = [int(x, 16) for x in raw["C"]]
        self.s = [int(x, 16) for x in raw["S"]]
        self.m = [[int(x, 16) for x in row] for row in raw["M"]]
        self.p = [[int(x, 16) for x in row] for row in raw["P"]]
        if len(self.c) != t * _N_ROUNDS_F + self.rounds_p or len(self.m) != t:
            raise ValueError(f"Poseidon constants for t={t} have the wrong shape")


@lru_cache(maxsize=1)
def _all_params() -> dict[int, _Params]:
    raw = json.loads(CONSTANTS_FILE.read_text())
    return {int(t): _Params(int(t), v) for t, v in raw.items()}


def _params(t: int) -> _Params:
    params = _all_params()
    if t not in params:
        raise ValueError(f"no Poseidon constants for {t - 1} inputs (have: "
                         f"{sorted(k - 1 for k in params)}); re-run scripts/zk-setup")
    return params[t]


def _sbox(x: int) -> int:
    return pow(x, 5, FIELD_MODULUS)


def _mix(state: list[int], matrix: list[list[int]]) -> list[int]:
    # circomlib's Mix: out[i] = sum_j M[j][i] * in[j]
    t = len(state)
    return [sum(matrix[j][i] * state[j] for j in range(t)) % FIELD_MODULUS for i in range(t)]


def poseidon(inputs: Sequence[int]) -> int:
    """The circomlib ``Poseidon(len(inputs))`` hash of field elements (each < the modulus)."""
    values = [int(v) for v in inputs]
    if not values:
        raise ValueError("Poseidon needs at least one input")
    if any(v < 0 or v >= FIELD_MODULUS for v in values):
        raise ValueError("Poseidon inputs must be field elements in [0, FIELD_MODULUS)")
    t = len(values) + 1
    pr = _params(t)
    p, half = FIELD_MODULUS, _N_ROUNDS_F // 2
    c = pr.c
    state = [(v + c[i]) % p for i, v in enumerate([0, *values])]
    for r in range(half - 1):
        state = [(_sbox(x) + c[(r + 1) * t + i]) % p for i, x in enumerate(state)]
        state = _mix(state, pr.m)
    state = [(_sbox(x) + c[half * t + i]) % p for i, x in enumerate(state)]
    state = _mix(state, pr.p)
    width = 2 * t - 1
    for r in range(pr.rounds_p):
        first = (_sbox(state[0]) + c[(half + 1) * t + r]) % p
        row = pr.s[width * r: width * (r + 1)]
        head = (row[0] * first + sum(row[i] * state[i] for i in range(1, t))) % p
        state = [head] + [(state[i] + first * row[t + i - 1]) % p for i in range(1, t)]
    for r in range(half - 1):
        base = (half + 1) * t + pr.rounds_p + r * t
        state = [(_sbox(x) + c[base + i]) % p for i, x in enumerate(state)]
        state = _mix(state, pr.m)
    state = [_sbox(x) for x in state]
    return sum(pr.m[j][0] * state[j] for j in range(t)) % p


def extract_constants(circom_file: Path, widths: Iterable[int]) -> dict[str, dict[str, Any]]:
    """Read circomlib's ``poseidon_constants.circom`` and keep the widths ``t`` asked for.

    ``scripts/zk-setup`` writes the result, as compact JSON, to :data:`CONSTANTS_FILE`.

    Returns ``{str(t): {"C": [...], "S": [...], "M": [[...]], "P": [[...]]}}`` of hex strings,
    the layout :func:`poseidon` loads.
    """
    text = circom_file.read_text()
    out: dict[str, dict[str, Any]] = {}
    for t in widths:
        entry: dict[str, Any] = {}
        for name in ("C", "S", "M", "P"):
            body = _function_branch(text, f"POSEIDON_{name}", t)
            numbers = [h[2:] for h in re.findall(r"0x[0-9a-fA-F]+", body)]
            if name in ("M", "P"):
                entry[name] = [numbers[i * t:(i + 1) * t] for i in range(t)]
            else:
                entry[name] = numbers
        out[str(t)] = entry
    return out


def _function_branch(text: str, function: str, t: int) -> str:
    start = text.index(f"function {function}(t)")
    end = text.find("function ", start + 1)
    body = text[start:end if end >= 0 else len(text)]
    match = re.search(rf"if\s*\(\s*t\s*==\s*{t}\s*\)\s*\{{(.*?)\}}", body, re.S)
    if match is None:
        raise ValueError(f"{function} has no branch for t={t}")
    return match.group(1)
