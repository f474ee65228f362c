"""Groth16 over BN254 in pure Python (py-ecc), for snarkjs proofs and verification keys.

The check is the one of the generated Solidity verifier (and of snarkjs):
``e(-A, B) · e(alpha, beta) · e(vk_x, gamma) · e(C, delta) = 1`` with
``vk_x = IC_0 + sum_i x_i IC_{i+1}``: four Miller loops (the ``(alpha, beta)`` one cached per
key) and one final exponentiation. Before any arithmetic every input is checked the way the EVM
precompiles (EIP-196/197) check it, so the two verifiers agree on malformed proofs too:

- a public input is an integer in ``[0, r)`` (``r`` the scalar field), and there are exactly
  as many as the key expects;
- every coordinate is an integer in ``[0, q)`` (``q`` the base field);
- a G1 point is on ``y^2 = x^3 + 3`` (the group has cofactor 1, so that is its subgroup check);
- a G2 point is on the twist and in the order-``r`` subgroup (``r * P = O``);
- ``(0, 0)`` (and ``((0, 0), (0, 0))``) encode the point at infinity, as in the precompiles.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128 import (
    add,
    b,
    b2,
    curve_order,
    field_modulus,
    final_exponentiate,
    is_inf,
    is_on_curve,
    multiply,
    neg,
    twist,
)
from py_ecc.optimized_bn128.optimized_pairing import cast_point_to_fq12, miller_loop

__all__ = ["Groth16Proof", "VerifyingKey", "verify_groth16", "SCALAR_FIELD", "BASE_FIELD"]

SCALAR_FIELD = int(curve_order)    # r: public inputs and circuit signals
BASE_FIELD = int(field_modulus)    # q: point coordinates

G1Raw = tuple[int, int]
G2Raw = tuple[tuple[int, int], tuple[int, int]]


class _Malformed(ValueError):
    pass


@dataclass(frozen=True)
class Groth16Proof:
    """A proof as plain integers; G2 coordinates in snarkjs order ``(c0, c1)`` = c0 + c1·u."""

    a: G1Raw
    b: G2Raw
    c: G1Raw

    @classmethod
    def from_snarkjs(cls, data: dict[str, Any]) -> Groth16Proof:
        """Read snarkjs's ``proof.json`` (projective coordinates with Z = 1)."""
        pa, pb, pc = data["pi_a"], data["pi_b"], data["pi_c"]
        return cls(
            a=(int(pa[0]), int(pa[1])),
            b=((int(pb[0][0]), int(pb[0][1])), (int(pb[1][0]), int(pb[1][1]))),
            c=(int(pc[0]), int(pc[1])),
        )

    def to_snarkjs(self) -> dict[str, Any]:
        """The inverse of :meth:`from_snarkjs`."""
        (x0, x1), (y0, y1) = self.b
        return {
            "pi_a": [str(self.a[0]), str(self.a[1]), "1"],
            "pi_b": [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]],
            "pi_c": [str(self.c[0]), str(self.c[1]), "1"],
            "protocol": "groth16",
            "curve": "bn128",
        }

    def solidity_args(self) -> tuple[list[int], list[list[int]], list[int]]:
        """``(pA, pB, pC)`` for the generated verifier: the EVM wants G2 as ``(c1, c0)``."""
        (x0, x1), (y0, y1) = self.b
        return [self.a[0], self.a[1]], [[x1, x0], [y1, y0]], [self.c[0], self.c[1]]

    @classmethod
    def from_solidity(cls, a: Sequence[int], b: Sequence[Sequence[int]],
                      c: Sequence[int]) -> Groth16Proof:
        """The inverse of :meth:`solidity_args` (e.g. a proof read back from an event)."""
        (x1, x0), (y1, y0) = b
        return cls((int(a[0]), int(a[1])), ((int(x0), int(x1)), (int(y0), int(y1))),
                   (int(c[0]), int(c[1])))


@dataclass(frozen=True)
class VerifyingKey:
    """A snarkjs Groth16 verification key (``verification_key.json``)."""

    alpha: G1Raw
    beta: G2Raw
    gamma: G2Raw
    delta: G2Raw
    ic: tuple[G1Raw, ...]

    @classmethod
    def from_snarkjs(cls, data: dict[str, Any]) -> VerifyingKey:
        """Parse snarkjs's JSON; the points are checked like any proof point."""
        if data.get("protocol") != "groth16" or data.get("curve") != "bn128":
            raise ValueError("not a snarkjs Groth16/bn128 verification key")

        def g1(p: Sequence[Any]) -> G1Raw:
            return int(p[0]), int(p[1])

        def g2(p: Sequence[Any]) -> G2Raw:
            return (int(p[0][0]), int(p[0][1])), (int(p[1][0]), int(p[1][1]))

        key = cls(g1(data["vk_alpha_1"]), g2(data["vk_beta_2"]), g2(data["vk_gamma_2"]),
                  g2(data["vk_delta_2"]), tuple(g1(p) for p in data["IC"]))
        if int(data["nPublic"]) != len(key.ic) - 1:
            raise ValueError("verification key: nPublic does not match its IC points")
        try:
            for p1 in (key.alpha, *key.ic):
                _g1(p1)
            for p2 in (key.beta, key.gamma, key.delta):
                _g2(p2)
        except _Malformed as exc:
            raise ValueError(f"verification key has an invalid point: {exc}") from None
        return key

    @classmethod
    def load(cls, path: Path) -> VerifyingKey:
        """Read a verification key file."""
        return cls.from_snarkjs(json.loads(Path(path).read_text()))

    @property
    def n_public(self) -> int:
        """How many public inputs a proof against this key has."""
        return len(self.ic) - 1


def _coordinate(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < BASE_FIELD:
        raise _Malformed(f"coordinate {value!r} is not in [0, q)")
    return value


def _g1(raw: G1Raw) -> Any:
    if len(raw) != 2:
        raise _Malformed("a G1 point has two coordinates")
    x, y = (_coordinate(v) for v in raw)
    if x == 0 and y == 0:
        return (FQ.one(), FQ.one(), FQ.zero())
    point = (FQ(x), FQ(y), FQ.one())
    if not is_on_curve(point, b):
        raise _Malformed("G1 point is not on the curve")
    return point


def _g2(raw: G2Raw) -> Any:
    if len(raw) != 2 or any(len(c) != 2 for c in raw):
        raise _Malformed("a G2 point has two FQ2 coordinates")
    (x0, x1), (y0, y1) = ((_coordinate(c[0]), _coordinate(c[1])) for c in raw)
    if x0 == x1 == y0 == y1 == 0:
        return (FQ2.one(), FQ2.one(), FQ2.zero())
    point = (FQ2([x0, x1]), FQ2([y0, y1]), FQ2.one())
    if not is_on_curve(point, b2):
        raise _Malformed("G2 point is not on the twist")
    if not is_inf(multiply(point, SCALAR_FIELD)):
        raise _Malformed("G2 point is not in the order-r subgroup")
    return point


def _miller(g2: Any, g1: Any) -> FQ12:
    if is_inf(g2) or is_inf(g1):
        return FQ12.one()
    return miller_loop(twist(g2), cast_point_to_fq12(g1), final_exponentiate=False)


@lru_cache(maxsize=8)
def _prepared(key: VerifyingKey) -> tuple[FQ12, Any, Any, list[Any]]:
    # Per key, once: e(alpha, beta) before the final exponentiation, and the decoded points.
    alpha_beta = _miller(_g2(key.beta), _g1(key.alpha))
    return alpha_beta, _g2(key.gamma), _g2(key.delta), [_g1(p) for p in key.ic]


def verify_groth16(key: VerifyingKey, proof: Groth16Proof, public_inputs: Sequence[int]) -> bool:
    """True when ``proof`` is valid for ``public_inputs``; False for anything else."""
    inputs = list(public_inputs)
    if len(inputs) != key.n_public:
        return False
    if any(not isinstance(x, int) or isinstance(x, bool) or not 0 <= x < SCALAR_FIELD
           for x in inputs):
        return False
    try:
        a, b_point, c = _g1(proof.a), _g2(proof.b), _g1(proof.c)
    except (_Malformed, TypeError, ValueError):
        return False
    alpha_beta, gamma, delta, ic = _prepared(key)
    vk_x = ic[0]
    for x, point in zip(inputs, ic[1:], strict=True):
        if x:
            vk_x = add(vk_x, multiply(point, x))
    product = (_miller(b_point, neg(a)) * alpha_beta * _miller(gamma, vk_x)
               * _miller(delta, c))
    return bool(final_exponentiate(product) == FQ12.one())
