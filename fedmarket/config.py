"""Configuration: command-line flags, then ``FEDMARKET_*`` variables, then ``fedmarket.toml``.

One :class:`Settings` object is built per process by :func:`load_settings`. The defaults run
everything locally: an anvil node managed by ``fedmarket chain up``, the embedded block store
and a SQLite index, all inside one data dir (``./.fedmarket``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fedmarket.errors import ConfigError

__all__ = ["Settings", "load_settings", "ENV_PREFIX"]

ENV_PREFIX = "FEDMARKET_"


@dataclass(frozen=True)
class Settings:
    """Everything a fedmarket process needs to find its chain, store and keys."""

    # One folder for node state, the block store, deployments and the index, so that
    # `rm -r .fedmarket` is a full reset and two checkouts never share state by accident.
    data_dir: Path = field(default_factory=lambda: Path(".fedmarket"))
    # None means "the local node started by `fedmarket chain up`" (its URL is in the data dir).
    rpc_url: str | None = None
    # Kubo RPC endpoint (e.g. http://127.0.0.1:5001); None selects the embedded block store.
    ipfs_api: str | None = None
    # Local dev account index (anvil's mnemonic) used when no private key is configured.
    account: int = 0
    # Path to a file holding a hex private key, for real chains (never a key on the command line).
    key_file: Path | None = None
    # Raw hex private key from the environment only (FEDMARKET_PRIVATE_KEY).
    private_key: str | None = None
    # CIDv0 matches `ipfs add` defaults; CIDv1 (base32) on request.
    cid_version: int = 0
    # SQLAlchemy URL of the API's index; None = SQLite file in the data dir.
    index_url: str | None = None

    @property
    def store_dir(self) -> Path:
        """Folder of the embedded block store."""
        return self.data_dir / "store"

    @property
    def chain_dir(self) -> Path:
        """Folder of the local node's state, log and deployment file."""
        return self.data_dir / "chain"


_CASTS: dict[str, Any] = {
    "data_dir": Path,
    "rpc_url": str,
    "ipfs_api": str,
    "account": int,
    "key_file": Path,
    "private_key": str,
    "cid_version": int,
    "index_url": str,
}


def _cast(name: str, value: Any, source: str) -> Any:
    try:
        return _CASTS[name](value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: invalid value {value!r} for {name}") from exc


def load_settings(
    overrides: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    toml_path: Path | None = None,
) -> Settings:
    """Merge defaults < fedmarket.toml < FEDMARKET_* environment < explicit overrides.

    ``overrides`` are command-line flags; a value of None means "flag not given".
    """
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    path = toml_path or Path(env.get(ENV_PREFIX + "CONFIG", "fedmarket.toml"))
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
        section = data.get("fedmarket", data)
        for key, value in section.items():
            if key not in _CASTS:
                raise ConfigError(f"{path}: unknown setting {key!r}")
            values[key] = _cast(key, value, str(path))
    for name in _CASTS:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw not in (None, ""):
            values[name] = _cast(name, raw, ENV_PREFIX + name.upper())
    for name, value in (overrides or {}).items():
        if value is not None:
            if name not in _CASTS:
                raise ConfigError(f"unknown setting {name!r}")
            values[name] = _cast(name, value, f"--{name.replace('_', '-')}")
    settings = replace(Settings(), **values)
    if settings.cid_version not in (0, 1):
        raise ConfigError(f"cid_version must be 0 or 1, got {settings.cid_version}")
    return settings

