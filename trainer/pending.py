"""Commit–reveal bookkeeping that survives a restart between the two.

A trainer commits ``keccak256(abi.encode(cid, salt, trainer, project, round))`` first and
reveals ``(cid, salt)`` after the commit deadline. If the process dies in between, the salt
must not be lost (the commitment could never be opened) and must never be re-drawn (a new salt
would not match). So the salt is drawn once, written to disk *before* the commit transaction is
sent, and the record is only dropped after the reveal is mined.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_utils import to_checksum_address

from fedmarket.chain.types import commitment_for
from fedmarket.errors import FedmarketError

__all__ = ["PendingReveal", "PendingStore"]


@dataclass
class PendingReveal:
    """One committed-but-not-yet-revealed update."""

    project: int
    round: int
    trainer: str
    cid: str
    salt_hex: str
    committed: bool = False  # True once the commit transaction is mined

    @property
    def salt(self) -> bytes:
        """The 32-byte salt."""
        return bytes.fromhex(self.salt_hex)

    @property
    def commitment(self) -> bytes:
        """The commitment this record opens."""
        return commitment_for(self.cid, self.salt, self.trainer, self.project, self.round)


class PendingStore:
    """Pending reveals as one JSON file per (trainer, project, round) under a folder."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, trainer: str, project: int, round_: int) -> Path:
        return self.folder / f"{trainer.lower()}-{project}-{round_}.json"

    def prepare(self, trainer: str, project: int, round_: int, cid: str) -> PendingReveal:
        """Return the record for this round, creating it (with a fresh salt) on first use.

        If a record exists for a *different* CID it is kept only while not committed: once
        committed, only that CID can ever be revealed, so the stored one wins.
        """
        existing = self.load(trainer, project, round_)
        if existing is not None and (existing.committed or existing.cid == cid):
            return existing
        record = PendingReveal(
            project, round_, to_checksum_address(trainer), cid, secrets.token_bytes(32).hex()
        )
        self.save(record)
        return record

    def save(self, record: PendingReveal) -> None:
        """Write atomically and fsync, so a crash never leaves half a record."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(record.trainer, record.project, record.round)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as handle:
            json.dump(asdict(record), handle)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)

    def load(self, trainer: str, project: int, round_: int) -> PendingReveal | None:
        """The stored record, or None."""
        path = self._path(trainer, project, round_)
        if not path.is_file():
            return None
        try:
            return PendingReveal(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise FedmarketError(f"pending reveal file {path} is corrupt: {exc}") from exc

    def mark_committed(self, record: PendingReveal) -> None:
        """Record that the commitment is on chain."""
        record.committed = True
        self.save(record)

    def done(self, record: PendingReveal) -> None:
        """Forget a record once its reveal is mined (or the round has passed)."""
        self._path(record.trainer, record.project, record.round).unlink(missing_ok=True)

    def all(self) -> list[PendingReveal]:
        """Every pending record (used at start-up to finish interrupted rounds)."""
        if not self.folder.is_dir():
            return []
        return [
            PendingReveal(**json.loads(p.read_text())) for p in sorted(self.folder.glob("*.json"))
        ]
