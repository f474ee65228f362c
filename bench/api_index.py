"""A synthetic index for the API benchmark, written straight into the database.

Playing 1,000 projects on chain would take hours, and the API reads only the index, so the
rows are made here: ``projects`` projects of ``trainers`` trainers (drawn from a pool of
``pool`` addresses, so each trainer is in about projects * trainers / pool projects) and two
verifiers each, ``rounds`` rounds per project (all finalized but the last round of every
tenth project, whose result awaits its verifiers), one submission, one verdict and one
reward leaf per trainer and round, a claim for a third of the leaves, an attestation per
verifier and round. Proofs are random 32-byte siblings, as many as a real tree of that size
has (a real tree costs 5 ms to build per round: 50 s for the default index, for bytes no
request checks).

The cursor (``sync_state``) is set to the deployment on the benchmark's node at its head, so
the API's own indexer finds the index current and leaves it alone. Everything is seeded.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak, to_checksum_address
from sqlalchemy import Table, func, select, text

from fedmarket.chain.deployment import Deployment
from market_api.db import Index
from market_api.db import models as m

__all__ = ["IndexShape", "BuiltIndex", "build_index", "index_size"]

GWEI = 10**9
CHUNK = 20_000  # rows per executemany on SQLite


@dataclass(frozen=True)
class IndexShape:
    """How big the synthetic index is."""

    projects: int = 1_000
    trainers: int = 50  # per project
    rounds: int = 10  # per project
    pool: int = 5_000  # distinct trainer addresses
    verifiers: int = 20  # distinct verifier addresses (2 per project)
    seed: int = 7


@dataclass(frozen=True)
class BuiltIndex:
    """What the benchmark needs to address requests at the index."""

    trainers: list[str]
    verifiers: list[str]
    shape: IndexShape


def _address(kind: str, i: int) -> str:
    return str(to_checksum_address(keccak(f"{kind}-{i}".encode())[-20:]))


def _hex(rng: random.Random, size: int = 32) -> str:
    return "0x" + rng.randbytes(size).hex()


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _insert(index: Index, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """Bulk insert: COPY on PostgreSQL, executemany in chunks elsewhere."""
    if index.engine.dialect.name == "postgresql":
        columns = [c.name for c in table.columns]
        raw = index.engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(  # type: ignore[attr-defined]
                    f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row.get(c) for c in columns])
            raw.commit()
        finally:
            raw.close()
        return
    with index.engine.begin() as connection:
        for chunk in _chunks(rows, CHUNK):
            connection.execute(table.insert(), chunk)


def _defaults(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """Fill the columns a row leaves out with their scalar defaults (COPY has none)."""
    for column in table.columns:
        if column.name not in row:
            default = column.default.arg if column.default is not None else None
            row[column.name] = None if callable(default) else default
    return row


def build_index(index: Index, deployment: Deployment, head: int, head_hash: str,
                shape: IndexShape) -> BuiltIndex:
    """Fill the empty ``index`` with the synthetic market of ``shape``."""
    rng = random.Random(shape.seed)
    pool = [_address("trainer", i) for i in range(shape.pool)]
    verifiers = [_address("verifier", i) for i in range(shape.verifiers)]
    depth = max(1, math.ceil(math.log2(shape.trainers)))
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in (
        "projects", "memberships", "rounds", "submissions", "verdicts", "attestations",
        "claims")}
    for pid in range(1, shape.projects + 1):
        members = rng.sample(pool, shape.trainers)
        judges = rng.sample(verifiers, 2)
        running = pid % 10 == 0
        tables["projects"].append(dict(
            id=pid, owner=_address("owner", pid % 50), aggregator=_address("agg", pid % 20),
            status="running" if running else "finished", budget=str(shape.rounds * 10**18),
            rounds=shape.rounds, current_round=shape.rounds, model_spec_cid=f"Qm{pid:044d}",
            initial_weights_cid=f"Qm{pid + 10**6:044d}", aggregator_bond=str(10**18 // 2),
            min_trainers=1, max_trainers=64, verifier_quorum=2, committee_size=2,
            verifier_fee_bps=500, min_reputation=0,
            scoring_method=0, trainer_count=shape.trainers,
            escrow_returned="0", bond_slashed="0", posted_block=1, posted_at=1_700_000_000))
        # Verifiers do not join: each round's committee (here the two judges) votes.
        for account in members:
            tables["memberships"].append(dict(project_id=pid, account=account, role="trainer",
                                              joined_block=1, left_block=None))
        for r in range(1, shape.rounds + 1):
            final = not (running and r == shape.rounds)
            rewards = [rng.randrange(1, 10**6) * GWEI * 1000 for _ in members]
            tables["rounds"].append(dict(
                project_id=pid, round=r, status="finalized" if final else "posted",
                pool=str(10**18), commit_deadline=1, reveal_deadline=2, result_deadline=3,
                verify_deadline=4, started_block=1, commits=shape.trainers,
                reveals=shape.trainers, agrees=2, disagrees=0, model_cid=f"Qm{r:044d}",
                result_cid=f"Qm{pid * 100 + r:044d}", result_hash=_hex(rng),
                rewards_root=_hex(rng), total_rewarded=str(sum(rewards)), posted_block=2,
                result_status="fetched", result_error=None, rule="multi_krum",
                scorer="loo", accuracy=0.5 + r / 40, proof_verified=r % 3 == 0,
                refund_reason=None, funded_root=None, funded_total=None, closed_block=3))
            for trainer, reward in zip(members, rewards, strict=True):
                cid = f"Qm{pid:020d}{r:04d}{trainer[2:22]}"
                tables["submissions"].append(dict(
                    project_id=pid, round=r, trainer=trainer, commitment=_hex(rng),
                    committed_block=2, cid=cid, revealed_block=2))
                tables["verdicts"].append(dict(
                    project_id=pid, round=r, trainer=trainer, update_cid=cid, samples=100,
                    accepted=True, reason=None,
                    robustness=json.dumps({"norm": 1.5, "krum": 0.25}),
                    contribution=10**6 // shape.trainers, reward=str(reward),
                    proof=json.dumps([_hex(rng) for _ in range(depth)]) if final else None))
                if final and rng.random() < 1 / 3:
                    tables["claims"].append(dict(project_id=pid, round=r, trainer=trainer,
                                                 amount=str(reward), block=3,
                                                 tx_hash=_hex(rng)))
            for v in judges:
                tables["attestations"].append(dict(project_id=pid, round=r, verifier=v,
                                                   agree=True, report_cid=f"Qm{r:044d}",
                                                   block=3))
    metadata = m.Base.metadata
    for name, rows in tables.items():
        table = metadata.tables[name]
        _insert(index, table, (_defaults(table, row) for row in rows))
    stakes = [dict(account=a, kind="trainer", amount=str(10**17), registered=True,
                   bindings=0) for a in pool]
    stakes += [dict(account=v, kind="verifier", amount=str(10**18 // 2), registered=True,
                    bindings=0) for v in verifiers]
    _insert(index, metadata.tables["stakes"], stakes)
    _insert(index, metadata.tables["reputation"],
            [dict(account=a, accepted=shape.rounds, rejected=0) for a in pool])
    with index.writing() as session:
        session.add(m.SyncState(
            id=1, chain_id=deployment.chain_id, market=deployment.address("FedMarket"),
            start_block=deployment.start_block, last_block=head, last_block_hash=head_hash,
            chain_head=head, epoch=uuid.uuid4().hex, revision=1))
    if index.engine.dialect.name == "postgresql":
        with index.engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.exec_driver_sql("VACUUM ANALYZE")
            autocommit.exec_driver_sql("CHECKPOINT")  # flush the load before measuring
    else:
        with index.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return BuiltIndex(trainers=pool, verifiers=verifiers, shape=shape)


def index_size(index: Index, tables: Sequence[str] = (
        "projects", "rounds", "submissions", "verdicts", "claims", "attestations")) -> dict[str,
                                                                                          int]:
    """Rows per table and the database's bytes on disk."""
    sizes: dict[str, int] = {}
    with index.session() as session:
        for name in tables:
            table = m.Base.metadata.tables[name]
            sizes[name] = int(session.scalar(select(func.count()).select_from(table)) or 0)
        if index.engine.dialect.name == "postgresql":
            sizes["bytes"] = int(session.scalar(text(
                "SELECT pg_database_size(current_database())")) or 0)
        else:
            pages = session.scalar(text("PRAGMA page_count")) or 0
            page_size = session.scalar(text("PRAGMA page_size")) or 0
            sizes["bytes"] = int(pages) * int(page_size)
    return sizes
