"""Proving a round's payout with snarkjs (Node) against the committed trusted-setup artifacts.

The witness is computed by the circuit's own WebAssembly (``snarkjs wtns calculate``) and the
proof by ``snarkjs groth16 prove`` with the committed final zkey. Both are the tools that made
the setup, so nothing here can drift from the verifier contract. Why not ``groth16py`` is said
in ``verifier/zk/README.md``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedmarket.chain.compile import project_root
from fedmarket.errors import VerificationError
from fedmarket.zk.groth16 import Groth16Proof
from fedmarket.zk.payout import PayoutStatement, payout_circuit_size

__all__ = ["ARTIFACTS", "CircuitFiles", "circuit_files", "compute_witness", "prove_witness",
           "prove_payout"]

ARTIFACTS = Path(__file__).with_name("artifacts")


@dataclass(frozen=True)
class CircuitFiles:
    """The committed setup output for one circuit size."""

    size: int
    wasm: Path
    zkey: Path
    verification_key: Path


def circuit_files(size: int) -> CircuitFiles:
    """Paths of the artifacts of the ``size``-slot payout circuit, checked to exist."""
    files = CircuitFiles(
        size,
        ARTIFACTS / f"round_payout_{size}.wasm",
        ARTIFACTS / f"round_payout_{size}.zkey",
        ARTIFACTS / f"payout_verification_key_{size}.json",
    )
    for path in (files.wasm, files.zkey, files.verification_key):
        if not path.is_file():
            raise VerificationError(f"missing zk artifact {path}: run scripts/zk-setup")
    return files


def _snarkjs(*args: str) -> None:
    cli = project_root() / "node_modules" / "snarkjs" / "build" / "cli.cjs"
    if shutil.which("node") is None or not cli.is_file():
        raise VerificationError("proving needs node and snarkjs: run `make setup` (npm ci)")
    proc = subprocess.run(["node", str(cli), *args], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip())[-1500:]
        raise VerificationError(f"snarkjs {args[0]} {args[1]} failed: {detail}")


def compute_witness(witness_input: dict[str, Any], size: int, out: Path) -> Path:
    """Run the circuit on ``witness_input``; a broken constraint raises VerificationError."""
    files = circuit_files(size)
    input_file = out.with_suffix(".input.json")
    input_file.write_text(json.dumps(witness_input))
    _snarkjs("wtns", "calculate", str(files.wasm), str(input_file), str(out))
    return out


def prove_witness(witness: Path, size: int) -> tuple[Groth16Proof, list[int]]:
    """Groth16-prove a computed witness; returns the proof and its public inputs."""
    files = circuit_files(size)
    proof_file = witness.with_suffix(".proof.json")
    public_file = witness.with_suffix(".public.json")
    _snarkjs("groth16", "prove", str(files.zkey), str(witness), str(proof_file),
             str(public_file))
    proof = Groth16Proof.from_snarkjs(json.loads(proof_file.read_text()))
    return proof, [int(x) for x in json.loads(public_file.read_text())]


def prove_payout(statement: PayoutStatement,
                 size: int | None = None) -> tuple[Groth16Proof, list[int], int]:
    """Prove ``statement`` with the ``size``-slot circuit (default: the smallest that fits).

    Checks it against the Python reference first, so a wrong verdict or amount is reported by
    name rather than as a failed constraint. Returns ``(proof, public_inputs, size)``.
    """
    try:
        statement.check()
    except ValueError as exc:
        raise VerificationError(f"the round's decisions are not provable: {exc}") from exc
    size = size or payout_circuit_size(statement.n)
    witness_input = statement.witness_input(size)
    with tempfile.TemporaryDirectory(prefix="fedmarket-zk-") as tmp:
        witness = compute_witness(witness_input, size, Path(tmp) / "round.wtns")
        proof, public = prove_witness(witness, size)
    expected = statement.public_inputs()
    if public != expected:
        raise VerificationError(f"snarkjs public inputs {public} differ from {expected}")
    return proof, public, size
