"""The deployment file: which contracts live where on which chain.

Written by ``fedmarket chain up`` (or ``deploy``) to ``<chain_dir>/deployment.json`` and read
by every command that talks to the contracts. A deployment is only trusted after checking that
code is present at each address on the connected chain, so a wiped node is redeployed rather
than silently talked to at empty addresses.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from web3 import Web3

from fedmarket.errors import ChainError

__all__ = ["Deployment", "DeployedContract"]


@dataclass(frozen=True)
class DeployedContract:
    """One contract's address and the block it was deployed in (the indexer starts there)."""

    address: str
    block: int


@dataclass(frozen=True)
class Deployment:
    """All contracts of one fedmarket deployment on one chain."""

    chain_id: int
    contracts: dict[str, DeployedContract] = field(default_factory=dict)
    deployer: str = ""

    def address(self, name: str) -> str:
        """Address of contract ``name``, with a clear error if it is not part of the deployment."""
        if name not in self.contracts:
            raise ChainError(f"contract {name!r} is not in the deployment "
                             f"(have: {', '.join(sorted(self.contracts))})")
        return self.contracts[name].address

    @property
    def start_block(self) -> int:
        """The earliest deployment block: where event indexing starts."""
        return min((c.block for c in self.contracts.values()), default=0)

    def save(self, path: Path) -> None:
        """Write the deployment as JSON (atomically)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1, sort_keys=True))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Deployment:
        """Read a deployment file, with a clear error when it is missing or malformed."""
        if not path.is_file():
            raise ChainError(f"no deployment at {path}: run `fedmarket chain up` first")
        try:
            raw = json.loads(path.read_text())
            contracts = {k: DeployedContract(**v) for k, v in raw["contracts"].items()}
            return cls(int(raw["chain_id"]), contracts, str(raw.get("deployer", "")))
        except (ValueError, KeyError, TypeError) as exc:
            raise ChainError(f"deployment file {path} is malformed: {exc}") from exc

    def is_live(self, w3: Web3) -> bool:
        """True when the connected chain has this chain id and code at every address."""
        if w3.eth.chain_id != self.chain_id or not self.contracts:
            return False
        return all(len(w3.eth.get_code(Web3.to_checksum_address(c.address))) > 0
                   for c in self.contracts.values())
