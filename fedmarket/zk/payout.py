"""The payout proof's statement: committed measurements in, acceptance and wei amounts out.

The Python reference of ``circuits/round_payout.circom``, step for step; the aggregator's
``trusted`` rule decides with these very comparisons (:func:`cos_fixed` on its cosines), so
the published decisions are the proven ones by construction, not by luck.

Per slot (trainer, canonical ascending-address order) one field element, the **leaf**,
packs the committed measurements (bit offsets, little-endian)::

    0      usable       passed validation and non-zero (trusted rule)
    1      rival        in a rival group of the majority cluster (trusted rule)
    2      accepted     the published verdict
    3..    ref cosine   cosine to the owner's reference update      } each as c * 2^16 + 2^16,
    21..   max cosine   largest cosine to another update            } 18 bits, c in [-1, 1]
    39..   consensus    cosine to the others' combination           }
    57..   class gain   the rival group's largest per-class gain    }
    75..   contribution the published fixed-point score + 2^40, 41 bits

The **params** element packs ``trusted``, ``one_vote``, ``equal fallback`` (bits 0-2) and the
trust floor, the near-copy threshold and the readmission gain (18 bits each, same encoding).
The **measurements root** commits each slot's leaf and trainer address (an integer): a
Poseidon chain over the elements ``leaf_0, trainer_0, ..., trainer_{n-1}`` padded with 0 to
``ceil(2n / 15)`` chunks of 15: ``acc_0 = 0``, ``acc_{c+1} = Poseidon(acc_c, e_{15c}..e_{15c+14})``
— it depends on the round only, not on the circuit's size, so the claim posted with the result
does not depend on which circuit later proves it (each circuit selects the accumulator after
the round's chunk count).

Decisions (rule ``trusted``): accepted exactly when ``usable``, ``ref > floor``, (``one_vote``
or ``max < threshold``), ``consensus < threshold``, and (not ``rival`` or ``gain >= bar``).
Other rules: the published verdict is committed as is. Amounts: ``floor(pool * c_i / W)``
over accepted trainers with ``c_i > 0`` (``W`` their sum); when none, ``pool // k`` to each of
the ``k`` accepted (fallback ``"equal"``) or nothing (``"none"``) — exactly
:func:`aggregator.rewards.split_rewards`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from fedmarket.zk.binding import SCALAR_FIELD, payout_challenge
from fedmarket.zk.poseidon import poseidon

__all__ = [
    "COS_SCALE", "CONTRIBUTION_LIMIT", "MAX_SLOTS", "PAYOUT_SIZES", "PUBLIC_INPUTS",
    "cos_fixed", "quantize_cosine", "quantize_cosines", "SlotMeasurements", "PayoutParams",
    "measurements_root",
    "derived_acceptance", "payout_amounts", "PayoutStatement", "payout_circuit_size",
    "pack_statement", "unpack_active",
]

#: Fixed point of every cosine and gain in the statement: multiples of 2^-16.
COS_SCALE = 1 << 16
_COS_BITS = 18
#: Contributions (micro-units) must lie strictly within (-2^40, 2^40).
CONTRIBUTION_LIMIT = 1 << 40
_CONTRIB_BITS = 41
_AMOUNT_LIMIT = 1 << 96
_CHUNK = 15
#: Slots the measurements root covers (and the largest circuit).
MAX_SLOTS = 64
#: Circuit sizes with a committed trusted setup.
PAYOUT_SIZES = (8, 16, 32, 64)
PUBLIC_INPUTS = ("measurementsRoot", "statement", "r", "h")
_PARAM_BITS = 3 + 3 * _COS_BITS
_COUNT_BITS = 7


def cos_fixed(value: float) -> int:
    """``value * 2^16`` rounded to the nearest integer (ties to even), clamped to ``[-1, 1]``.

    Exact on the float's binary value (:class:`~fractions.Fraction`), so every machine gets
    the same integer for the same float.
    """
    if value != value:
        raise ValueError("a cosine cannot be NaN")
    fixed = round(Fraction(min(max(value, -1.0), 1.0)) * COS_SCALE)
    return max(-COS_SCALE, min(COS_SCALE, fixed))


def quantize_cosine(value: float) -> float:
    """The float on the statement's grid nearest ``value``: ``cos_fixed(value) / 2^16``.

    Exact in binary, so float comparisons of quantized values are the circuit's integer
    comparisons, and the value survives JSON unchanged.
    """
    return cos_fixed(value) / COS_SCALE


def quantize_cosines(matrix: Any) -> Any:
    """:func:`quantize_cosine` of every entry of a float64 tensor (or numpy array).

    ``round`` is half-to-even and multiplying by 2^16 is exact, so each entry is the same
    float :func:`quantize_cosine` gives for it.
    """
    return (matrix.clip(-1.0, 1.0) * COS_SCALE).round() / COS_SCALE


def _encode_cos(fixed: int) -> int:
    if not -COS_SCALE <= fixed <= COS_SCALE:
        raise ValueError(f"fixed-point cosine {fixed} outside [-2^16, 2^16]")
    return fixed + COS_SCALE


@dataclass(frozen=True)
class SlotMeasurements:
    """One trainer's committed measurements (cosines and gain as :func:`cos_fixed` integers)."""

    accepted: bool
    contribution: int
    usable: bool = False
    rival: bool = False
    ref_cos: int = 0
    max_cos: int = 0
    consensus_cos: int = 0
    gain: int = 0

    def leaf(self) -> int:
        """The packed field element (module docstring)."""
        if not -CONTRIBUTION_LIMIT < self.contribution < CONTRIBUTION_LIMIT:
            raise ValueError(f"contribution {self.contribution} outside (-2^40, 2^40)")
        value = int(self.usable) | int(self.rival) << 1 | int(self.accepted) << 2
        for k, fixed in enumerate((self.ref_cos, self.max_cos, self.consensus_cos, self.gain)):
            value |= _encode_cos(fixed) << (3 + _COS_BITS * k)
        return value | (self.contribution + CONTRIBUTION_LIMIT) << (3 + 4 * _COS_BITS)


@dataclass(frozen=True)
class PayoutParams:
    """The rule's parameters the decisions use (cosines as :func:`cos_fixed` integers)."""

    trusted: bool
    equal_fallback: bool
    one_vote: bool = False
    floor_cos: int = 0
    group_cos: int = 0
    gain_min: int = 0

    def packed(self) -> int:
        """The ``params`` public input."""
        value = int(self.trusted) | int(self.one_vote) << 1 | int(self.equal_fallback) << 2
        for k, fixed in enumerate((self.floor_cos, self.group_cos, self.gain_min)):
            value |= _encode_cos(fixed) << (3 + _COS_BITS * k)
        return value


def _address(trainer: str) -> int:
    value = int(trainer, 16)
    if not 0 < value < 1 << 160:
        raise ValueError(f"{trainer!r} is not an address")
    return value


def measurements_root(slots: Sequence[SlotMeasurements], trainers: Sequence[str]) -> int:
    """The Poseidon chain over the slots' (leaf, trainer) elements, padded with 0 (doc)."""
    if len(slots) > MAX_SLOTS:
        raise ValueError(f"{len(slots)} trainers: a payout proof holds at most {MAX_SLOTS}")
    if len(trainers) != len(slots):
        raise ValueError(f"{len(trainers)} trainers for {len(slots)} slots")
    elements = [e for s, t in zip(slots, trainers, strict=True) for e in (s.leaf(), _address(t))]
    chunks = -(-len(elements) // _CHUNK)
    leaves = elements + [0] * (_CHUNK * chunks - len(elements))
    acc = 0
    for c in range(chunks):
        acc = poseidon([acc, *leaves[c * _CHUNK:(c + 1) * _CHUNK]])
    return acc


def derived_acceptance(slot: SlotMeasurements, params: PayoutParams) -> bool:
    """The ``trusted`` rule's verdict from the slot's measurements (module docstring)."""
    return (slot.usable and slot.ref_cos > params.floor_cos
            and (params.one_vote or slot.max_cos < params.group_cos)
            and slot.consensus_cos < params.group_cos
            and (not slot.rival or slot.gain >= params.gain_min))


def payout_amounts(slots: Sequence[SlotMeasurements], params: PayoutParams,
                   pool: int) -> list[int]:
    """Each slot's wei, as the circuit splits ``pool`` (module docstring)."""
    weights = [s.contribution if s.accepted and s.contribution > 0 else 0 for s in slots]
    total = sum(weights)
    if total > 0:
        return [pool * w // total for w in weights]
    chosen = sum(1 for s in slots if s.accepted)
    if not params.equal_fallback or chosen == 0:
        return [0] * len(slots)
    return [pool // chosen if s.accepted else 0 for s in slots]


def pack_statement(params: int, n: int, pool: int) -> int:
    """The ``statement`` public input: ``params | n << 57 | pool << 64``.

    One public input instead of three: each costs the verifier an elliptic-curve
    multiplication (about 6.2k gas).
    """
    if not 0 <= params < 1 << _PARAM_BITS or not 0 <= n < 1 << _COUNT_BITS:
        raise ValueError(f"params {params} or trainer count {n} out of range")
    if not 0 <= pool < _AMOUNT_LIMIT:
        raise ValueError(f"pool {pool} outside [0, 2^96)")
    return params | n << _PARAM_BITS | pool << (_PARAM_BITS + _COUNT_BITS)


def unpack_active(statement: int) -> int:
    """The trainer count ``nActive`` packed in a ``statement`` public input."""
    return (statement >> _PARAM_BITS) & ((1 << _COUNT_BITS) - 1)


def payout_circuit_size(n: int) -> int:
    """The smallest committed circuit holding ``n`` trainers."""
    for size in PAYOUT_SIZES:
        if n <= size:
            return size
    raise ValueError(f"{n} trainers: a payout proof holds at most {PAYOUT_SIZES[-1]}")


@dataclass(frozen=True)
class PayoutStatement:
    """A round's payout statement: what the circuit proves, with what the chain supplies."""

    project: int
    round: int
    trainers: tuple[str, ...]
    slots: tuple[SlotMeasurements, ...]
    params: PayoutParams
    pool: int

    @property
    def n(self) -> int:
        """Trainers in the round (``nActive``)."""
        return len(self.slots)

    @property
    def amounts(self) -> list[int]:
        """The amounts the statement implies."""
        return payout_amounts(self.slots, self.params, self.pool)

    @property
    def root(self) -> int:
        """The measurements root (posted in the claim)."""
        return measurements_root(self.slots, self.trainers)

    def check(self) -> None:
        """Raise ValueError naming the first thing the circuit would refuse."""
        if not 1 <= self.n <= MAX_SLOTS:
            raise ValueError(f"{self.n} trainers: a payout proof holds 1 to {MAX_SLOTS}")
        if len(self.trainers) != self.n:
            raise ValueError(f"{len(self.trainers)} trainers for {self.n} slots")
        if not 0 <= self.pool < _AMOUNT_LIMIT:
            raise ValueError(f"pool {self.pool} outside [0, 2^96)")
        for i, slot in enumerate(self.slots):
            slot.leaf()  # range checks
            if self.params.trusted and slot.accepted != derived_acceptance(slot, self.params):
                raise ValueError(f"slot {i} ({self.trainers[i]}): published verdict "
                                 f"{'accepted' if slot.accepted else 'rejected'} is not the one "
                                 "its measurements give")
        self.params.packed()

    def public_inputs(self) -> list[int]:
        """``[measurementsRoot, statement, r, h]`` (:data:`PUBLIC_INPUTS`)."""
        root = self.root
        r, h = payout_challenge(self.project, self.round, root, self.trainers, self.amounts,
                                [s.accepted for s in self.slots])
        return [root, pack_statement(self.params.packed(), self.n, self.pool), r, h]

    def witness_input(self, size: int) -> dict[str, Any]:
        """The circuit's full input (public, private and hints) as snarkjs reads it."""
        if size < self.n:
            raise ValueError(f"a {size}-slot circuit cannot hold {self.n} trainers")
        public = self.public_inputs()
        weights = [s.contribution if s.accepted and s.contribution > 0 else 0
                   for s in self.slots]
        total = sum(weights)
        chosen = sum(1 for s in self.slots if s.accepted)
        pad = [0] * (size - self.n)
        data: dict[str, Any] = {k: str(v) for k, v in zip(PUBLIC_INPUTS, public, strict=True)}
        data["leaf"] = [str(s.leaf()) for s in self.slots] + ["0"] * len(pad)
        data["trainer"] = [str(_address(t)) for t in self.trainers] + ["0"] * len(pad)
        data["share"] = [str(self.pool * w // total if total else 0)
                         for w in weights + pad]
        data["remainder"] = [str(self.pool * w % total if total else 0)
                             for w in weights + pad]
        data["equalShare"] = str(self.pool // chosen if chosen else 0)
        data["equalRemainder"] = str(self.pool % chosen if chosen else 0)
        return data


assert SCALAR_FIELD > 1 << 253  # every packed value above fits one field element
