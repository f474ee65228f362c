"""Decode revert data into readable errors: ``ProjectClosed(7)``, not hex.

web3.py 8 raises ``ContractCustomError`` with only the raw revert data; we look its 4-byte
selector up in every compiled ABI (so an error raised by a contract called internally is
still named) plus Solidity's built-in ``Error(string)`` and ``Panic(uint256)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from fedmarket.errors import ChainError, ContractRevert

__all__ = ["decode_revert", "error_selectors", "selectors_of", "error_params", "ErrorParam"]

_PANIC_REASONS = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x22: "invalid storage byte array",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to zero-initialized function",
}


def _abi_type(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param.get("components", []))
        return f"({inner}){kind[5:]}"
    return kind


def selectors_of(abi: list[dict[str, Any]]) -> dict[bytes, tuple[str, list[str]]]:
    """Map of 4-byte selector -> (error name, argument types) for one ABI's custom errors."""
    table: dict[bytes, tuple[str, list[str]]] = {}
    for item in abi:
        if item.get("type") != "error":
            continue
        types = [_abi_type(p) for p in item.get("inputs", [])]
        signature = f"{item['name']}({','.join(types)})"
        table[keccak(text=signature)[:4]] = (item["name"], types)
    return table


_BUILTIN: dict[bytes, tuple[str, list[str]]] = {
    keccak(text="Error(string)")[:4]: ("Error", ["string"]),
    keccak(text="Panic(uint256)")[:4]: ("Panic", ["uint256"]),
}


@lru_cache(maxsize=1)
def error_selectors() -> dict[bytes, tuple[str, list[str]]]:
    """Selectors of every compiled fedmarket contract plus Solidity's built-in errors."""
    from fedmarket.chain.compile import compile_contracts

    table = dict(_BUILTIN)
    for artifact in compile_contracts().values():
        table.update(selectors_of(artifact.abi))
    return table


@dataclass(frozen=True)
class ErrorParam:
    """One argument of a custom error as the ABI declares it (``enum IFedMarket.RoundPhase``)."""

    name: str
    type: str
    internal_type: str


@lru_cache(maxsize=1)
def error_params() -> dict[str, tuple[ErrorParam, ...]]:
    """Every compiled contract's custom errors by name, with their arguments' names and types.

    Error names carry their contract's prefix (``FedMarket…``, ``Registry…``), so one name
    means one error across the deployment; :mod:`fedmarket.chain.error_messages` fills its
    sentences from these names.
    """
    from fedmarket.chain.compile import compile_contracts

    table: dict[str, tuple[ErrorParam, ...]] = {}
    for artifact in compile_contracts().values():
        for item in artifact.abi:
            if item.get("type") == "error":
                table[str(item["name"])] = tuple(
                    ErrorParam(str(p.get("name", "")), _abi_type(p),
                               str(p.get("internalType", p["type"])))
                    for p in item.get("inputs", []))
    return table


def _lookup(selector: bytes, abi: list[dict[str, Any]] | None) -> tuple[str, list[str]] | None:
    known = selectors_of(abi).get(selector) if abi else None
    known = known or _BUILTIN.get(selector)
    if known is None:
        try:
            known = error_selectors().get(selector)
        except ChainError:  # no project contracts compiled here: nothing more to search
            known = None
    return known


def decode_revert(data: bytes | str | None, contract: str | None = None,
                  abi: list[dict[str, Any]] | None = None) -> ContractRevert:
    """Turn raw revert data into a :class:`ContractRevert` with name and decoded arguments.

    ``abi`` (the called contract's) is searched first, then every compiled contract's.
    """
    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x")) if data else b""
    if not data:
        return ContractRevert("Reverted", (), contract)
    selector, body = data[:4], data[4:]
    known = _lookup(selector, abi)
    if known is None:
        return ContractRevert("UnknownError", ("0x" + data.hex(),), contract)
    name, types = known
    try:
        values = tuple(abi_decode(types, body)) if types else ()
        # eth_abi decodes addresses lower-case; report them as web3 does everywhere else.
        values = tuple(to_checksum_address(v) if t == "address" else v
                       for t, v in zip(types, values, strict=True))
    except Exception:  # malformed payload: still report the name
        values = ("0x" + body.hex(),)
    if name == "Panic" and values and isinstance(values[0], int):
        values = (f"0x{values[0]:02x}: {_PANIC_REASONS.get(values[0], 'panic')}",)
    return ContractRevert(name, values, contract)
