"""Poseidon in Python is circomlib's: known vectors and the compiled circuit's own hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedmarket.errors import VerificationError
from fedmarket.zk.poseidon import poseidon
from fedmarket.zk.prover import compute_witness
from tests.zk.conftest import make_statement


def test_poseidon_circomlibjs_vectors():
    # circomlibjs poseidon([1, 2]) and poseidon([1]), as published with circomlib
    assert poseidon([1, 2]) == (
        7853200120776062878684798364095072458815029376092732009249414926327459813530)
    assert poseidon([1]) == (
        18586133768512220936620570745912940619677854269274689475585506675881198879027)


def test_poseidon_refuses_non_field_input():
    with pytest.raises(ValueError):
        poseidon([-1])


def test_circuit_accepts_the_python_root_and_no_other(tmp_path: Path):
    # The circuit recomputes the measurements root and constrains it to the public input.
    statement = make_statement(8, seed=7)
    data = statement.witness_input(8)
    compute_witness(data, 8, tmp_path / "ok.wtns")
    data["measurementsRoot"] = str(int(data["measurementsRoot"]) + 1)
    with pytest.raises(VerificationError, match="wtns calculate failed"):
        compute_witness(data, 8, tmp_path / "bad.wtns")


def test_circuit_rejects_a_changed_committed_contribution(tmp_path: Path):
    statement = make_statement(8, seed=7)
    data = statement.witness_input(8)
    data["leaf"][2] = str(int(data["leaf"][2]) + (1 << 75))  # contribution + 1, root unchanged
    with pytest.raises(VerificationError, match="wtns calculate failed"):
        compute_witness(data, 8, tmp_path / "bad.wtns")
