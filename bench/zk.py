"""Payout-proof figures for N in {8, 16, 32, 64}: constraints, witness, proving, verification, gas.

    .venv/bin/python bench/zk.py [--json] [--sizes 8 16 32 64] [--repeat 1]

Each size proves a full round (N trainers of the default rule with random measurements, the
verdicts they give, a 10 ETH pool) with the committed artifacts: the witness with the
circuit's WebAssembly, the proof with the snarkjs CLI (the prover the market uses) and, when
the ``groth16py`` package is installed (``pip install groth16py``; GPL-3.0, so not a
dependency), with its arkworks prover from the same zkey and witness — the baseline measured
in the same run. The proof is verified with py-ecc (the audit's verifier) and by the generated
verifier contract on a throwaway anvil: ``verify gas`` is what a ``verifyProof`` transaction
uses less the 21000 intrinsic gas and its calldata gas (what RoundProofs pays to call it; the
whole ``submitProof`` is measured by tests/contracts/test_proofs.py). Times are wall-clock
seconds and include Node's start for the snarkjs steps.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from fedmarket.chain.client import ChainClient, connect, dev_account
from fedmarket.chain.compile import compile_contracts, project_root
from fedmarket.chain.node import LocalNode
from fedmarket.zk.groth16 import Groth16Proof
from fedmarket.zk.prover import ARTIFACTS, circuit_files, compute_witness, prove_witness
from fedmarket.zk.synthetic import synthetic_statement
from verifier.zk import verify_payout_proof


def calldata_gas(data: bytes) -> int:
    return sum(4 if byte == 0 else 16 for byte in data)


def arkworks_prover(size: int) -> Any | None:
    """groth16py's proving key for ``size`` (imported from the committed zkey), or None."""
    try:
        import groth16py  # type: ignore[import-not-found]
    except ImportError:
        return None
    proving_key, _verifying_key = groth16py.import_zkey(str(circuit_files(size).zkey))
    return proving_key


def measure(size: int, client: ChainClient, repeat: int) -> dict[str, Any]:
    manifest = json.loads((ARTIFACTS / "setup.json").read_text())
    statement = synthetic_statement(size, pool=10 * 10**18)
    witness_input = statement.witness_input(size)
    pk = arkworks_prover(size)
    witness_s, prove_s, ark_s, verify_s = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            t0 = time.perf_counter()
            witness = compute_witness(witness_input, size, Path(tmp) / "round.wtns")
            t1 = time.perf_counter()
            proof, public = prove_witness(witness, size)
            t2 = time.perf_counter()
            ok = verify_payout_proof(proof, public, size)
            t3 = time.perf_counter()
            if not ok or public != statement.public_inputs():
                raise SystemExit(f"N={size}: the snarkjs proof did not verify in Python")
            witness_s.append(t1 - t0)
            prove_s.append(t2 - t1)
            verify_s.append(t3 - t2)
            if pk is not None:
                import groth16py

                t4 = time.perf_counter()
                raw = groth16py.prove_wtns(pk, str(witness))
                ark_s.append(time.perf_counter() - t4)
                words = [int.from_bytes(raw[i:i + 32], "big") for i in range(0, 256, 32)]
                ark = Groth16Proof.from_solidity(words[0:2], [words[2:4], words[4:6]],
                                                 words[6:8])
                if not verify_payout_proof(ark, public, size):
                    raise SystemExit(f"N={size}: the groth16py proof did not verify in Python")
    verifier, _ = client.deploy(f"RoundPayoutVerifier{size}")
    a, b, c = proof.solidity_args()
    call = verifier.contract.functions.verifyProof(a, b, c, public)
    if not call.call():
        raise SystemExit(f"N={size}: the proof did not verify on chain")
    # A real transaction with ample gas: eth_estimateGas would find the least gas at which the
    # call does not revert, and the verifier *returns false* when the pairing runs out of gas.
    receipt = client.send(call, gas=2_000_000, label="verifyProof")
    tx_gas = int(receipt["gasUsed"])
    data = bytes(client.w3.eth.get_transaction(receipt["transactionHash"])["input"])
    return {
        "n": size,
        "constraints": manifest["circuits"][str(size)]["constraints"],
        "witness_s": round(min(witness_s), 3),
        "prove_snarkjs_s": round(min(prove_s), 3),
        "prove_groth16py_s": round(min(ark_s), 3) if ark_s else None,
        "verify_python_s": round(min(verify_s), 3),
        "verify_exec_gas": tx_gas - 21_000 - calldata_gas(data),
        "zkey_bytes": (ARTIFACTS / f"round_payout_{size}.zkey").stat().st_size,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
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
    header = ("N", "constraints", "witness s", "snarkjs s", "groth16py s", "snarkjs/ark",
              "py verify s", "verify gas", "zkey MB")
    print("  ".join(f"{h:>12}" for h in header))
    for row in rows:
        ark = row["prove_groth16py_s"]
        cells = (row["n"], row["constraints"], row["witness_s"], row["prove_snarkjs_s"],
                 "-" if ark is None else ark,
                 "-" if ark is None else f"{row['prove_snarkjs_s'] / ark:.1f}x",
                 row["verify_python_s"], row["verify_exec_gas"],
                 f"{row['zkey_bytes'] / 2**20:.1f}")
        print("  ".join(f"{c!s:>12}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
