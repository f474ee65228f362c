"""Deploy and wire the fedmarket contracts: registry, payout verifiers, distributor, proofs, market.

Order matters for constructor arguments: the distributor needs the registry's address and
the market's (it asks the market who revealed in a round), ``RoundProofs`` the market's (it
reads the round it checks), the market the distributor's and ``RoundProofs``' (a round whose
result claimed a proof finalizes only once proven). The distributor and ``RoundProofs`` are
deployed first with the address the market *will* have — a CREATE address follows from the
deployer and its nonce — and the deploy checks that the market landed there. Wiring then
grants each contract the one role it needs on another — the market binds and slashes stakes
(``MARKET_ROLE``) and funds rounds (``FUNDER_ROLE``), the distributor records reputation
(``REPUTATION_ROLE``) — and, unless told otherwise, the deployer renounces its admin roles so
no account can rewire the market later.

Payout proofs are checked by ``RoundProofs`` (kept out of the market so that the market stays
under the EVM's 24 KiB code-size limit) with the generated ``RoundPayoutVerifier{N}``, one per
circuit size N in :data:`PAYOUT_SIZES`; those whose artifacts are compiled are deployed (a round
larger than every wired size simply offers no proof: re-execution settles every round).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import rlp  # type: ignore[import-untyped]
from eth_utils import keccak
from web3 import Web3

from fedmarket.chain.client import BoundContract, ChainClient
from fedmarket.chain.compile import compile_contracts
from fedmarket.chain.deployment import DeployedContract, Deployment
from fedmarket.errors import ChainError

__all__ = ["DeployParams", "deploy_contracts", "CONTRACT_NAMES", "PAYOUT_SIZES",
           "payout_verifier_name", "ZERO_ADDRESS", "create_address"]

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
# Names under which the deployment file records the contracts (also their artifact names).
CONTRACT_NAMES = ("ParticipantRegistry", "RewardDistributor", "FedMarket")
# Circuit sizes N of the generated payout verifiers (circuits/round_payout.circom).
PAYOUT_SIZES = (8, 16, 32, 64)


def payout_verifier_name(size: int) -> str:
    """The artifact (and deployment) name of the generated payout verifier of size ``size``."""
    return f"RoundPayoutVerifier{size}"


@dataclass(frozen=True)
class DeployParams:
    """Deployment-wide settings; each project sets its own bond, durations and quorum."""

    # Small enough for dev accounts and the demo, large enough that a sybil costs something.
    min_trainer_stake_wei: int = Web3.to_wei(0.1, "ether")
    # Verifiers decide disputes, so their stake is higher than a trainer's.
    min_verifier_stake_wei: int = Web3.to_wei(0.5, "ether")
    # None: deploy every generated payout verifier that is compiled; else circuit size ->
    # address of an existing verifier ({}: no proofs can be checked).
    payout_verifiers: Mapping[int, str] | None = None
    # Shortest phase a project may set: 5 blocks of a 12-second chain, so every party can act.
    min_phase_seconds: int = 60
    # How long rewards and slashed-bond compensation may be claimed before they expire.
    claim_window_seconds: int = 30 * 24 * 3600
    # No all-powerful owner: after wiring, the deployer gives up the right to re-grant roles.
    renounce_admin: bool = True


def _block(receipt: object) -> int:
    return int(receipt["blockNumber"])  # type: ignore[index]


def create_address(deployer: str, nonce: int) -> str:
    """The address a CREATE from ``deployer`` at ``nonce`` gets: keccak(rlp([sender, nonce]))."""
    raw = keccak(rlp.encode([bytes.fromhex(deployer[2:]), nonce]))[12:]
    return Web3.to_checksum_address(raw)


def deploy_contracts(client: ChainClient, params: DeployParams | None = None) -> Deployment:
    """Deploy registry, distributor and market from ``client``'s account and wire their roles."""
    params = params or DeployParams()
    registry, r_receipt = client.deploy(
        "ParticipantRegistry", client.address, params.min_trainer_stake_wei,
        params.min_verifier_stake_wei)
    contracts: dict[str, DeployedContract] = {}
    verifiers = params.payout_verifiers
    if verifiers is None:
        verifiers = _deploy_payout_verifiers(client, contracts)
    sizes = sorted(verifiers)
    nonce = client.w3.eth.get_transaction_count(client.account.address, "pending")
    expected_market = create_address(client.address, nonce + 2)
    distributor, d_receipt = client.deploy("RewardDistributor", client.address, registry.address,
                                           expected_market, params.claim_window_seconds)
    proofs, p_receipt = client.deploy(
        "RoundProofs", expected_market,
        [Web3.to_checksum_address(verifiers[size]) for size in sizes], sizes)
    contracts["RoundProofs"] = DeployedContract(proofs.address, _block(p_receipt))
    market, m_receipt = client.deploy(
        "FedMarket", registry.address, distributor.address, params.min_phase_seconds,
        params.claim_window_seconds, proofs.address)
    if market.address != expected_market:
        raise ChainError(f"FedMarket landed at {market.address}, not at {expected_market} "
                         "where the distributor and RoundProofs expect it (another transaction "
                         "from the deployer interleaved): deploy again")

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


def _deploy_payout_verifiers(client: ChainClient, contracts: dict[str, DeployedContract]
                             ) -> dict[int, str]:
    """Deploy the generated payout verifiers that are compiled; size -> address."""
    available = set(compile_contracts()) | set(client.artifacts or {})
    deployed: dict[int, str] = {}
    for size in PAYOUT_SIZES:
        name = payout_verifier_name(size)
        if name not in available:
            continue
        verifier, receipt = client.deploy(name)
        contracts[name] = DeployedContract(verifier.address, _block(receipt))
        deployed[size] = verifier.address
    return deployed


def _grant(contract: BoundContract, role_name: str, account: str) -> None:
    role = contract.call(role_name)
    contract.transact("grantRole", role, account)
