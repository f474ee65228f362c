"""Poseidon in Python is circomlib's: known vectors and the compiled circuit's own hashes."""

from __future__ import annotations

from dataclasses import replace
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


def test_circuit_accepts_python_commitment_roots(tmp_path: Path):
    # The circuit recomputes both Poseidon roots and constrains them equal to these inputs.
    statement = make_statement(8, outliers=2)
    witness = compute_witness(statement.witness_input(8), 8, tmp_path / "ok.wtns")
    assert witness.stat().st_size > 0


@pytest.mark.parametrize("name", ["sketchRoot", "decisionsRoot"])
def test_circuit_rejects_root_off_by_one(tmp_path: Path, name: str):
    statement = make_statement(8, outliers=2)
    data = statement.witness_input(8)
    data[name] = str(int(data[name]) + 1)
    with pytest.raises(VerificationError, match="wtns calculate failed"):
        compute_witness(data, 8, tmp_path / "bad.wtns")


def test_circuit_rejects_changed_score(tmp_path: Path):
    statement = make_statement(6, outliers=1)
    scores = list(statement.scores)
    scores[0] += 1  # flagged trainer: the split is unchanged, but the decisions root is not
    data = replace(statement, scores=scores).witness_input(8)
    data["decisionsRoot"] = statement.witness_input(8)["decisionsRoot"]
    with pytest.raises(VerificationError, match="wtns calculate failed"):
        compute_witness(data, 8, tmp_path / "bad.wtns")
