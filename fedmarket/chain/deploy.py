"""Deploy and wire the fedmarket contracts: registry, reward distributor, proof verifier, market.

Order matters only for constructor arguments (the distributor and the market need the
registry's address; the market needs the distributor's). Wiring then grants each contract the
one role it needs on another — the market binds stakes (``MARKET_ROLE``) and funds rounds
(``FUNDER_ROLE``), the distributor records reputation (``REPUTATION_ROLE``) — and, unless told
otherwise, the deployer renounces its admin roles so no account can rewire the market later.

The round proof verifier is the generated ``RoundProofVerifier16`` (rounds of up to 16
trainers; a larger round simply has no proof, since proofs are optional and re-execution
settles every round). It has no state and no roles, so the market just takes its address.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from fedmarket.chain.client import BoundContract, ChainClient
from fedmarket.chain.deployment import DeployedContract, Deployment

__all__ = ["DeployParams", "deploy_contracts", "CONTRACT_NAMES", "PROOF_VERIFIER",
           "ZERO_ADDRESS"]

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
# Names under which the deployment file records the contracts (also their artifact names).
CONTRACT_NAMES = ("ParticipantRegistry", "RewardDistributor", "FedMarket")
# The generated Groth16 verifier deployed by default (N_MAX = 16: fedmarket.zk.ONCHAIN_N_MAX).
PROOF_VERIFIER = "RoundProofVerifier16"


@dataclass(frozen=True)
class DeployParams:
    """Deployment-wide settings; each project sets its own bond, durations and quorum."""

    # Small enough for dev accounts and the demo, large enough that a sybil costs something.
    min_trainer_stake_wei: int = Web3.to_wei(0.1, "ether")
    # Verifiers decide disputes, so their stake is higher than a trainer's.
    min_verifier_stake_wei: int = Web3.to_wei(0.5, "ether")
    # None: deploy PROOF_VERIFIER; else an existing verifier's address (ZERO_ADDRESS: none).
    proof_verifier: str | None = None
    # No all-powerful owner: after wiring, the deployer gives up the right to re-grant roles.
    renounce_admin: bool = True


def _block(receipt: object) -> int:
    return int(receipt["blockNumber"])  # type: ignore[index]


def deploy_contracts(client: ChainClient, params: DeployParams | None = None) -> Deployment:
    """Deploy registry, distributor and market from ``client``'s account and wire their roles."""
    params = params or DeployParams()
    registry, r_receipt = client.deploy(
        "ParticipantRegistry", client.address, params.min_trainer_stake_wei,
        params.min_verifier_stake_wei)
    distributor, d_receipt = client.deploy("RewardDistributor", client.address, registry.address)
    contracts: dict[str, DeployedContract] = {}
    verifier_address = params.proof_verifier
    if verifier_address is None:
        verifier, v_receipt = client.deploy(PROOF_VERIFIER)
        verifier_address = verifier.address
        contracts[PROOF_VERIFIER] = DeployedContract(verifier.address, _block(v_receipt))
    market, m_receipt = client.deploy(
        "FedMarket", registry.address, distributor.address,
        Web3.to_checksum_address(verifier_address))

    _grant(registry, "MARKET_ROLE", market.address)
    _grant(registry, "REPUTATION_ROLE", distributor.address)
    _grant(distributor, "FUNDER_ROLE", market.address)
    if params.renounce_admin:
        for contract in (registry, distributor):
            admin_role = contract.call("DEFAULT_ADMIN_ROLE")
            contract.transact("renounceRole", admin_role, client.address)

    return Deployment(
        chain_id=client.w3.eth.chain_id,
        contracts={
            "ParticipantRegistry": DeployedContract(registry.address, _block(r_receipt)),
            "RewardDistributor": DeployedContract(distributor.address, _block(d_receipt)),
            "FedMarket": DeployedContract(market.address, _block(m_receipt)),
            **contracts,
        },
        deployer=client.address,
    )


def _grant(contract: BoundContract, role_name: str, account: str) -> None:
    role = contract.call(role_name)
    contract.transact("grantRole", role, account)
