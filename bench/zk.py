"""Round-proof figures for N_MAX in {8, 16}: constraints, witness, proving, verification, gas.

    .venv/bin/python bench/zk.py [--json] [--sizes 8 16] [--repeat 1]

Each size proves a full round (N_MAX trainers, two of them sign-flipped outliers) with the
committed artifacts, verifies it with py-ecc, and measures the generated verifier contract on a
throwaway anvil: ``tx gas`` is the gas used by a ``verifyProof`` transaction, ``exec gas``
the same less the 21000 intrinsic gas and the calldata gas (what another contract pays to call
it). Times are wall-clock seconds and include Node's start for the snarkjs steps.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from fedmarket.chain.client import ChainClient, connect, dev_account
from fedmarket.chain.compile import compile_contracts, project_root
from fedmarket.chain.node import LocalNode
from fedmarket.zk.prover import ARTIFACTS, compute_witness, prove_witness
from verifier.zk import (
    RoundStatement,
    multi_krum_flags,
    proportional_split,
    sketch_round,
    verify_round_proof,
)


def synthetic_round(n: int, dim: int = 100_000, seed: int = 2024) -> RoundStatement:
    rng = np.random.default_rng(n)
    direction = rng.normal(0, 0.01, dim)
    updates = [direction + rng.normal(0, 0.003, dim) for _ in range(n)]
    f = 2
    for i in range(f):
        updates[i] = -4.0 * updates[i]
    sketches, _ = sketch_round(updates, seed)
    flags = multi_krum_flags(sketches, f, n - f)
    scores = [int(s) for s in rng.integers(10_000, 1_000_000, n)]
    pool = 5 * 10**18
    return RoundStatement(sketches, flags, scores, proportional_split(pool, scores, flags),
                          pool, f, n - f, seed)


def calldata_gas(data: bytes) -> int:
    return sum(4 if byte == 0 else 16 for byte in data)


def measure(n_max: int, client: ChainClient, repeat: int) -> dict[str, Any]:
    manifest = json.loads((ARTIFACTS / "setup.json").read_text())
    statement = synthetic_round(n_max)
    witness_input = statement.witness_input(n_max)
    witness_s, prove_s, verify_s = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            t0 = time.perf_counter()
            witness = compute_witness(witness_input, n_max, Path(tmp) / "round.wtns")
            t1 = time.perf_counter()
            proof, public = prove_witness(witness, n_max)
            t2 = time.perf_counter()
            ok = verify_round_proof(proof, public, n_max)
            t3 = time.perf_counter()
            if not ok:
                raise SystemExit(f"N_MAX={n_max}: the proof did not verify in Python")
            witness_s.append(t1 - t0)
            prove_s.append(t2 - t1)
            verify_s.append(t3 - t2)
    verifier, _ = client.deploy(f"RoundProofVerifier{n_max}")
    a, b, c = proof.solidity_args()
    call = verifier.contract.functions.verifyProof(a, b, c, public)
    if not call.call():
        raise SystemExit(f"N_MAX={n_max}: the proof did not verify on chain")
    # A real transaction with ample gas: eth_estimateGas would find the least gas at which the
    # call does not revert, and the verifier *returns false* when the pairing runs out of gas.
    receipt = client.send(call, gas=2_000_000, label="verifyProof")
    tx_gas = int(receipt["gasUsed"])
    data = bytes(client.w3.eth.get_transaction(receipt["transactionHash"])["input"])
    return {
        "n_max": n_max,
        "constraints": manifest["circuits"][str(n_max)]["constraints"],
        "witness_s": round(min(witness_s), 3),
        "prove_s": round(min(prove_s), 3),
        "verify_python_s": round(min(verify_s), 3),
        "verify_tx_gas": tx_gas,
        "verify_exec_gas": tx_gas - 21_000 - calldata_gas(data),
        "zkey_bytes": (ARTIFACTS / f"round_proof_{n_max}.zkey").stat().st_size,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        artifacts = compile_contracts(project_root() / "contracts" / "zk", Path(tmp) / "build")
        node = LocalNode(Path(tmp) / "anvil")
        node.start()
        try:
            client = ChainClient(connect(node.url), dev_account(0), artifacts=artifacts)
            rows = [measure(n, client, args.repeat) for n in args.sizes]
        finally:
            node.stop()

    if args.json:
        print(json.dumps({"rows": rows}))
        return 0
    header = ("N_MAX", "constraints", "witness s", "prove s", "py verify s", "tx gas",
              "exec gas")
    keys = ("n_max", "constraints", "witness_s", "prove_s", "verify_python_s", "verify_tx_gas",
            "verify_exec_gas")
    print("  ".join(f"{h:>12}" for h in header))
    for row in rows:
        print("  ".join(f"{row[k]:>12}" for k in keys))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
