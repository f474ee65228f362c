"""Gas of ``RoundProofs.submitProof`` at 8, 16, 32 and 64 trainers, with real proofs.

Starts its own anvil, deploys the market with the generated ``RoundPayoutVerifier{N}``
(the committed setup) and runs one round per size: ``n`` trainers reveal, the aggregator
posts a result whose payout has every slot paid but one accepted slot paid nothing and one
rejected (the leaf predicate's three cases), with its claim; the payout is proven with the
smallest circuit that holds it (snarkjs) and submitted. ``--standin`` wires the test stand-in
verifier (``tests/contracts/sol/ExpectedInputsVerifier.sol``) instead, to see what is
RoundProofs' own cost. Prints one line per size; ``--json`` one object.

    .venv/bin/python bench/proof_gas.py [--trainers 8 16 32 64] [--standin] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from web3 import Web3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fedmarket.chain.client import ChainClient, connect, dev_account  # noqa: E402
from fedmarket.chain.compile import compile_contracts  # noqa: E402
from fedmarket.chain.deploy import DeployParams, deploy_contracts  # noqa: E402
from fedmarket.chain.market import MarketContracts  # noqa: E402
from fedmarket.chain.node import LocalNode  # noqa: E402
from fedmarket.chain.types import (  # noqa: E402
    ParticipantKind,
    ProjectParams,
    RoundPayout,
    RoundProof,
    RoundResult,
    proof_claim_for,
)
from fedmarket.merkle import reward_tree  # noqa: E402
from fedmarket.zk import prove_payout  # noqa: E402
from fedmarket.zk.payout import (  # noqa: E402
    PayoutParams,
    PayoutStatement,
    SlotMeasurements,
    pack_statement,
)
from fedmarket.zk.round import claim_hash  # noqa: E402

ETHER = 10**18
OWNER, AGGREGATOR, VERIFIERS, FIRST_TRAINER = 1, 2, (3, 4, 5), 100
SIZES = (8, 16, 32, 64)
G1 = (1, 2)
G2 = ((11559732032986387107991004021392285783925812861821192530917403151452391805634,
       10857046999023057135944570762232829481370756359578518086990519993285655852781),
      (4082367875863433681332203403145435568316851327593401208105741076214120093531,
       8495653923123431417604973247489272438418190587263600148770280649306958101930))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainers", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--standin", action="store_true",
                        help="the test stand-in verifier instead of the generated ones")
    parser.add_argument("--budget", type=float, default=1.0,
                        help="the project's escrow in ether (amounts' size moves calldata gas)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        node = LocalNode(Path(tmp) / "anvil")
        node.start()
        try:
            w3 = connect(node.url)
            standin = None
            params = DeployParams()
            if args.standin:
                standin_artifacts = compile_contracts(
                    Path(__file__).resolve().parents[1] / "tests" / "contracts" / "sol",
                    Path(tmp) / "build")
                standin, _ = ChainClient(w3, dev_account(0),
                                         artifacts=standin_artifacts).deploy(
                    "ExpectedInputsVerifier")
                params = DeployParams(payout_verifiers={n: standin.address for n in SIZES})
            deployment = deploy_contracts(ChainClient(w3, dev_account(0)), params)
            for n in args.trainers:
                gas, size = _round(w3, deployment, standin, n, int(args.budget * ETHER))
                rows.append({"trainers": n, "circuit": size, "submit_proof_gas": gas,
                             "verifier": "stand-in" if standin else "generated"})
                if not args.json:
                    print(f"{n:3d} trainers: submitProof {gas} gas "
                          f"({'stand-in verifier' if standin else f'real proof, N={size}'})")
        finally:
            node.stop()
    if args.json:
        print(json.dumps({"rows": rows}))
    return 0


def _round(w3: Web3, deployment, standin, n: int,  # type: ignore[no-untyped-def]
           budget: int) -> tuple[int, int]:
    actor = lambda i: MarketContracts.at(ChainClient(w3, dev_account(i)), deployment)  # noqa: E731
    funder = ChainClient(w3, dev_account(0))
    trainers = list(range(FIRST_TRAINER + 1000 * n, FIRST_TRAINER + 1000 * n + n))
    for t in trainers:
        funder.transfer(dev_account(t).address, ETHER)
    for v in VERIFIERS:
        reg = actor(v).registry
        if reg.stake_of(ParticipantKind.VERIFIER) == 0:
            reg.register(ParticipantKind.VERIFIER, reg.min_stake(ParticipantKind.VERIFIER))
    owner = actor(OWNER).market
    params = ProjectParams(
        model_spec_cid="bafkreispec", initial_weights_cid="bafkreiweights",
        aggregator=dev_account(AGGREGATOR).address, aggregator_bond_wei=ETHER // 10, rounds=1,
        min_trainers=1, max_trainers=n, verifier_quorum=2, committee_size=3,
        verifier_fee_bps=500, commit_duration=60, reveal_duration=60, aggregate_duration=60,
        verify_duration=600)
    project = owner.post_project(params, budget)
    for t in trainers:
        reg = actor(t).registry
        reg.register(ParticipantKind.TRAINER, reg.min_stake(ParticipantKind.TRAINER))
        actor(t).market.join_as_trainer(project)
    actor(AGGREGATOR).market.start_project(project, ETHER // 10)
    for t in trainers:
        salt = Web3.keccak(text=f"g-{t}")
        actor(t).market.commit_update(project, 1, f"bafkreiupdate{t:06d}" + "x" * 36, salt)
    for t in trainers:
        salt = Web3.keccak(text=f"g-{t}")
        actor(t).market.reveal(project, 1, f"bafkreiupdate{t:06d}" + "x" * 36, salt)
    info = owner.round(project, 1)
    addresses = sorted((dev_account(t).address for t in trainers), key=lambda a: int(a, 16))
    # Slot 0 accepted with contribution 0 (paid nothing: no leaf), slot 1 rejected (a zero
    # leaf), the rest accepted and paid alike; the rule's verdicts are committed as given.
    slots = [SlotMeasurements(accepted=i != 1, contribution=0 if i < 2 else 1000)
             for i in range(n)]
    statement = PayoutStatement(project, 1, tuple(addresses), tuple(slots),
                                PayoutParams(trusted=False, equal_fallback=True),
                                info.trainer_pool_wei)
    amounts = statement.amounts
    payout = RoundPayout(tuple(addresses), tuple(amounts), tuple(s.accepted for s in slots))
    pairs = enumerate(zip(addresses, amounts, strict=True))
    tree = reward_tree(project, 1, [(a, x) for i, (a, x) in pairs if payout.has_leaf(i)])
    assert tree is not None
    root, packed = statement.root, statement.params.packed()
    actor(AGGREGATOR).market.submit_result(project, 1, RoundResult(
        "bafkreimodel", "bafkreiresult", Web3.keccak(text="r"), tree.root, sum(amounts),
        claim_hash(root, packed) if standin is None else proof_claim_for(11, 22)))
    if standin is None:
        real, _public, size = prove_payout(statement)
        a, b, c = real.solidity_args()
        proof = RoundProof((a[0], a[1]), ((b[0][0], b[0][1]), (b[1][0], b[1][1])),
                           (c[0], c[1]), root, packed, size)
    else:
        size = next(s for s in SIZES if n <= s)
        proof = RoundProof(G1, G2, G1, 11, 22, size)  # type: ignore[arg-type]
        r, h = payout.challenge(project, 1, 11)
        standin.transact("expect", G1, G2, G1,
                         [11, pack_statement(22, n, info.trainer_pool_wei), r, h])
    receipt = owner.submit_proof(project, 1, proof, payout)
    return int(receipt["gasUsed"]), size


if __name__ == "__main__":
    raise SystemExit(main())
