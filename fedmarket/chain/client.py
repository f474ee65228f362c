"""Thin, typed access to contracts over web3.py: send, wait, decode reverts.

Every state-changing call goes through :meth:`BoundContract.transact`, which simulates the call
first (so a revert is reported with its decoded custom error before any gas is spent), signs
locally with the configured key, sends, and waits for the receipt. Reads go through
:meth:`BoundContract.call`. Tests and CLI commands pass a real node's ``Web3`` in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted
from web3.logs import DISCARD
from web3.types import TxReceipt

from fedmarket.chain.compile import Artifact, load_artifact
from fedmarket.chain.errors_abi import decode_revert
from fedmarket.chain.node import DEV_MNEMONIC
from fedmarket.errors import ChainError

__all__ = ["ChainClient", "BoundContract", "dev_account", "connect"]

Account.enable_unaudited_hdwallet_features()


def dev_account(index: int) -> LocalAccount:
    """The local node's dev account ``index`` (anvil's public mnemonic: local chains only)."""
    if index < 0:
        raise ChainError(f"dev account index must be >= 0, got {index}")
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def connect(url: str, timeout: float = 30.0) -> Web3:
    """A ``Web3`` on an HTTP JSON-RPC endpoint, checked to answer."""
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))
    try:
        w3.eth.chain_id  # noqa: B018 - probe the connection
    except Exception as exc:
        raise ChainError(f"no Ethereum node answers at {url}: {exc}") from exc
    return w3


def _revert_data(exc: Exception) -> Any:
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    return data


@dataclass
class BoundContract:
    """A deployed contract plus the account that sends its transactions."""

    name: str
    contract: Contract
    client: ChainClient

    @property
    def address(self) -> str:
        """Checksummed address of the deployed contract."""
        return str(self.contract.address)

    def call(self, fn: str, *args: Any, sender: str | None = None) -> Any:
        """Read-only call against the pending block; reverts raise a decoded ``ContractRevert``.

        The pending block carries the node's current time, so phase and deadline views agree
        with what a transaction sent now would see. At ``latest`` a local automine node would
        report the timestamp of its last mined block, however long ago that was.
        """
        try:
            return self.contract.functions[fn](*args).call(
                {"from": sender or self.client.address}, block_identifier="pending")
        except (ContractCustomError, ContractLogicError) as exc:
            raise decode_revert(_revert_data(exc), self.name,
                                list(self.contract.abi)) from None  # type: ignore[arg-type]

    def transact(self, fn: str, *args: Any, value: int = 0, gas: int | None = None) -> TxReceipt:
        """Simulate, sign, send and wait for ``fn(*args)``; return the successful receipt."""
        return self.client.send(self.contract.functions[fn](*args), value=value, gas=gas,
                                label=f"{self.name}.{fn}", abi=list(self.contract.abi))  # type: ignore[arg-type]

    def events(self, event: str, receipt: TxReceipt) -> list[dict[str, Any]]:
        """Decoded ``event`` logs of one receipt, as plain dicts of their arguments."""
        # DISCARD: a receipt also holds the tx's other events, which are not a decoding error.
        processed = self.contract.events[event]().process_receipt(receipt, errors=DISCARD)
        return [dict(e["args"]) for e in processed]


class ChainClient:
    """One account on one chain: deploys, binds and transacts."""

    def __init__(self, w3: Web3, account: LocalAccount, receipt_timeout: float = 120.0,
                 artifacts: dict[str, Artifact] | None = None):
        self.w3 = w3
        self.account = account
        self.receipt_timeout = receipt_timeout
        # Tests pass their own compiled helpers (e.g. a re-entering payee); default: contracts/.
        self.artifacts = artifacts

    def artifact(self, name: str) -> Artifact:
        """The compiled contract ``name`` from this client's artifacts or the project's."""
        if self.artifacts is not None and name in self.artifacts:
            return self.artifacts[name]
        return load_artifact(name)

    @property
    def address(self) -> str:
        """The sending account's checksummed address."""
        return str(self.account.address)

    def bind(self, name: str, address: str) -> BoundContract:
        """Bind the compiled ABI of contract ``name`` to ``address``."""
        artifact = self.artifact(name)
        contract = self.w3.eth.contract(address=Web3.to_checksum_address(address),
                                        abi=artifact.abi)
        return BoundContract(name, contract, self)

    def deploy(self, name: str, *args: Any, value: int = 0) -> tuple[BoundContract, TxReceipt]:
        """Deploy contract ``name`` with constructor ``args``; return it and the receipt."""
        artifact = self.artifact(name)
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self.send(factory.constructor(*args), value=value, label=name, abi=artifact.abi)
        address = receipt["contractAddress"]
        if address is None:
            raise ChainError(f"deploying {name} produced no contract address")
        return self.bind(name, address), receipt

    def send(self, call: Any, value: int = 0, gas: int | None = None,
             label: str = "transaction", abi: list[dict[str, Any]] | None = None) -> TxReceipt:
        """Estimate (decoding any revert), sign, send and wait for one transaction."""
        tx: dict[str, Any] = {"from": self.address, "value": value}
        try:
            # Simulate on the pending block, like views: at `latest` a local automine node
            # would judge deadlines by its last block's timestamp, not by the time now.
            estimated = call.estimate_gas(tx, block_identifier="pending")
        except (ContractCustomError, ContractLogicError) as exc:
            raise decode_revert(_revert_data(exc), label.split(".")[0], abi) from None
        tx.update({
            "gas": gas or int(estimated * 1.2) + 10_000,
            "nonce": self.w3.eth.get_transaction_count(self.account.address, "pending"),
            "chainId": self.w3.eth.chain_id,
        })
        built = call.build_transaction(tx)
        signed = self.account.sign_transaction(built)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self.receipt_timeout, poll_latency=0.05)
        except TimeExhausted as exc:
            raise ChainError(f"{label}: no receipt for {tx_hash.hex()} after "
                             f"{self.receipt_timeout:.0f} s") from exc
        if receipt["status"] != 1:
            # Usually a race (another party's transaction changed the state first, e.g. two
            # keepers finalizing the same round): re-simulate so the caller gets the decoded
            # custom error it can handle, instead of an opaque failure.
            try:
                call.estimate_gas({"from": self.address, "value": value},
                                  block_identifier="pending")
            except (ContractCustomError, ContractLogicError) as exc:
                raise decode_revert(_revert_data(exc), label.split(".")[0], abi) from None
            raise ChainError(f"{label}: transaction {tx_hash.hex()} reverted")
        return receipt

    def transfer(self, to: str, value: int) -> TxReceipt:
        """Send plain ether (funding dev accounts, tests)."""
        tx: dict[str, Any] = {
            "from": self.address, "to": Web3.to_checksum_address(to), "value": value,
            "gas": 21_000, "chainId": self.w3.eth.chain_id,
            "nonce": self.w3.eth.get_transaction_count(self.account.address, "pending"),
            "maxFeePerGas": self.w3.eth.gas_price * 2 + 1, "maxPriorityFeePerGas": 1,
        }
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.receipt_timeout,
                                                        poll_latency=0.05)
