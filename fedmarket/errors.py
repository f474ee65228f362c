"""The one exception tree of fedmarket.

Every error a user can see is a :class:`FedmarketError`; the CLI prints its message on one line
and exits non-zero. Contract custom errors are decoded into :class:`ContractRevert` (a
:class:`ChainError`) carrying the error's name and arguments, so the user sees
``ProjectClosed(7)`` rather than hex::

    FedmarketError
    ├── ConfigError            bad flag, environment variable or fedmarket.toml value
    ├── ChainError             node, compiler, deployment, transaction problems
    │   └── ContractRevert     a decoded Solidity custom error (name + args)
    ├── StorageError           content store: missing block, CID mismatch, backend down
    │   └── IntegrityError     bytes read back do not hash to their CID
    ├── CodecError             malformed, oversize, non-finite or mis-shaped tensors
    ├── DataError              trainer data source missing or malformed
    ├── AggregationError       a rule's precondition broken, no acceptable update
    └── VerificationError      a re-executed result or a proof does not check out
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "FedmarketError",
    "ConfigError",
    "ChainError",
    "ContractRevert",
    "StorageError",
    "IntegrityError",
    "CodecError",
    "DataError",
    "AggregationError",
    "VerificationError",
]


class FedmarketError(Exception):
    """Base of every error fedmarket raises on purpose."""


class ConfigError(FedmarketError):
    """A configuration value (flag, FEDMARKET_* variable, fedmarket.toml) is invalid."""


class ChainError(FedmarketError):
    """The chain side failed: compiler, node, deployment or a transaction."""


class ContractRevert(ChainError):
    """A contract call reverted with a custom error, decoded against the ABI.

    ``name`` is the Solidity error name and ``args`` its decoded arguments, so callers can
    branch on ``err.name == "ProjectClosed"`` and users read ``ProjectClosed(7)``.
    """

    def __init__(self, name: str, args: tuple[Any, ...] = (), contract: str | None = None):
        self.name = name
        self.args_decoded = tuple(args)
        self.contract = contract
        rendered = ", ".join(_render(a) for a in self.args_decoded)
        where = f"{contract}: " if contract else ""
        super().__init__(f"{where}{name}({rendered})")


def _render(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


class StorageError(FedmarketError):
    """The content store could not put or get a block or file."""


class IntegrityError(StorageError):
    """Bytes read from storage do not hash to the CID they were stored under."""


class CodecError(FedmarketError):
    """A model or update file is malformed, oversize, non-finite or of the wrong shape."""


class DataError(FedmarketError):
    """A trainer's local data source is missing or malformed."""


class AggregationError(FedmarketError):
    """Aggregation cannot proceed: a rule's precondition is broken or nothing is acceptable."""


class VerificationError(FedmarketError):
    """A re-executed round or a zero-knowledge proof does not match what was published."""
