from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from web3 import Web3

from fedmarket.errors import FedmarketError
from market_api.db import Index
from market_api.db import models as m
from market_api.indexer import Indexer, handlers
from market_api.indexer.results import store_fetcher
from tests.api.conftest import Databases, Published, publish

TABLES = (m.Project, m.Membership, m.Round, m.Submission, m.Verdict, m.Attestation, m.Claim,
          m.Stake, m.Reputation, m.Credit, m.VerifierSlash, m.CompensationClaim, m.AppliedLog)


def dump(index: Index) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, comparable across indexes."""
    out = {}
    with index.session() as session:
        for model in TABLES:
            cols = [c.key for c in model.__table__.columns]
            rows = session.scalars(select(model)).all()
            out[model.__tablename__] = sorted(
                tuple(getattr(r, c) for c in cols) for r in rows)
    return out


@pytest.fixture
def fresh(chain: Web3, tmp_path: Path, databases: Databases) -> Iterator[Published]:
    """A sample market published on the reverted chain, not indexed yet (each backend)."""
    pub = publish(chain, tmp_path, databases.new(), trainers=3, rounds=1)
    yield pub
    pub.index.close()


def test_sync_indexes_every_table(fresh: Published) -> None:
    report = fresh.indexer.sync()

    tables = dump(fresh.index)
    assert report.to_block == report.chain_head and report.logs > 0
    assert len(tables["projects"]) == 1
    assert len(tables["rounds"]) == 1
    assert len(tables["submissions"]) == 3 and len(tables["verdicts"]) == 3
    assert len(tables["attestations"]) == 3  # the whole committee: 2 agree, 1 dissents
    assert len(tables["verifier_slashes"]) == 1
    assert len(tables["claims"]) == 2  # the claimer's leaf and the rejected zero leaf
    assert len(tables["stakes"]) == 6  # 3 trainers, 3 verifiers
    # Two winners' fees, the escrow left and the bond back.
    with fresh.index.session() as session:
        reasons = sorted((c.reason, c.round) for c in session.scalars(select(m.Credit)))
    assert reasons == [("bond_returned", None), ("escrow_returned", None),
                       ("verification_fee", 1), ("verification_fee", 1)]


def test_resync_from_scratch_adds_no_duplicates(fresh: Published) -> None:
    fresh.indexer.sync()
    before = dump(fresh.index)
    with fresh.index.sessions.begin() as session:  # rewind the cursor: re-process everything
        state = session.get(m.SyncState, 1)
        assert state is not None
        state.last_block, state.last_block_hash = state.start_block - 1, None

    report = fresh.indexer.sync()

    assert report.logs == 0  # every log was recognised as applied
    assert dump(fresh.index) == before


def test_restart_mid_index_resumes_without_duplicates(fresh: Published,
                                                      databases: Databases) -> None:
    url = databases.new()
    first = Indexer(fresh.w3, fresh.deployment, Index(url), store_fetcher(fresh.store),
                    batch_blocks=4)
    partial = first.sync(max_batches=3)
    first.index.close()
    restarted = Indexer(fresh.w3, fresh.deployment, Index(url), store_fetcher(fresh.store),
                        batch_blocks=4)

    report = restarted.sync()

    assert partial.to_block < report.chain_head
    assert report.from_block == partial.to_block + 1
    fresh.indexer.sync()  # the reference: one pass into another database
    assert dump(restarted.index) == dump(fresh.index)
    restarted.index.close()


def test_failed_batch_is_not_half_applied(fresh: Published,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx: handlers.HandlerContext, log: Any) -> None:
        raise FedmarketError("handler failed")

    monkeypatch.setitem(handlers.HANDLERS, ("FedMarket", "Attested"), broken)

    with pytest.raises(FedmarketError):
        fresh.indexer.sync()

    assert fresh.indexer.indexed_block() is None
    assert all(rows == [] for rows in dump(fresh.index).values())


def test_missing_result_is_fetched_on_a_later_pass(fresh: Published) -> None:
    fresh.indexer.fetch_result = lambda cid: None
    fresh.indexer.sync()
    with fresh.index.session() as session:
        assert session.scalars(select(m.Round.result_status)).all() == ["missing"]

    fresh.indexer.fetch_result = store_fetcher(fresh.store)
    fresh.indexer.sync()

    with fresh.index.session() as session:
        assert session.scalars(select(m.Round.result_status)).all() == ["fetched"]
        assert len(session.scalars(select(m.Verdict)).all()) == 3


def test_result_with_wrong_hash_is_flagged(fresh: Published) -> None:
    real = store_fetcher(fresh.store)
    fresh.indexer.fetch_result = lambda cid: real(cid).replace(b'"samples":100', b'"samples":99')
    fresh.indexer.sync()

    with fresh.index.session() as session:
        row = session.scalars(select(m.Round)).one()
        assert row.result_status == "fetched"
        assert row.result_error == "keccak of the JSON != posted resultHash"


def test_reverted_chain_rebuilds_the_index(fresh: Published) -> None:
    w3 = fresh.w3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    fresh.market.post(trainers=2, rounds=1)
    fresh.indexer.sync()
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    report = fresh.indexer.sync()

    assert report.reset is True
    with fresh.index.session() as session:
        assert session.scalars(select(m.Project.id)).all() == [1]


def test_confirmations_hold_back_recent_blocks(fresh: Published) -> None:
    indexer = Indexer(fresh.w3, fresh.deployment, fresh.index, store_fetcher(fresh.store),
                      confirmations=5)

    report = indexer.sync()

    assert report.to_block == report.chain_head - 5


def test_background_indexer_runs_while_the_app_is_up(fresh: Published) -> None:
    from fastapi.testclient import TestClient

    from market_api.indexer import BackgroundIndexer
    from market_api.main import create_app

    background = BackgroundIndexer(fresh.indexer, interval=0.05)
    app = create_app(fresh.index, 31337, chain_head=lambda: int(fresh.w3.eth.block_number),
                     background=background)

    with TestClient(app) as client:
        deadline = time.monotonic() + 20
        while client.get("/health").json()["status"] != "ok":
            assert time.monotonic() < deadline, client.get("/health").json()
            time.sleep(0.05)
        assert client.get("/projects").json()["count"] == 1

    assert background._thread is None  # stopped with the app


def test_two_indexers_on_one_database_take_turns(fresh: Published, tmp_path: Path) -> None:
    # Several API workers, or two `api serve` on one PostgreSQL, each run an indexer: started
    # together on a new database they must neither race on CREATE TABLE nor apply a block
    # range twice (UniqueViolation on applied_logs), and end with one copy of every row.
    url = fresh.index.url
    fresh.index.close()
    start = threading.Barrier(3)
    errors: list[BaseException] = []
    indexes: list[Index] = []

    def run() -> None:
        try:
            start.wait(30)
            index = Index(url)
            indexes.append(index)
            Indexer(fresh.w3, fresh.deployment, index, store_fetcher(fresh.store),
                    batch_blocks=1).sync()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(240)
    for index in indexes:
        index.close()

    assert errors == [] and len(indexes) == 3
    alone = Index(f"sqlite:///{tmp_path / 'alone.sqlite'}")
    Indexer(fresh.w3, fresh.deployment, alone, store_fetcher(fresh.store)).sync()
    together = Index(url)
    assert dump(together) == dump(alone)
    together.close()
    alone.close()


def test_index_of_another_schema_version_is_rebuilt(databases: Databases) -> None:
    url = databases.new()
    old = Index(url)
    with old.writing() as session:
        meta = session.get(m.IndexMeta, 1)
        assert meta is not None and meta.schema_version == m.SCHEMA_VERSION
        meta.schema_version = m.SCHEMA_VERSION - 1
        session.add(m.Stake(account="0x" + "ab" * 20, kind="trainer", amount="1",
                            registered=True, bindings=0))
    old.close()

    reopened = Index(url)

    with reopened.session() as session:
        meta = session.get(m.IndexMeta, 1)
        assert meta is not None and meta.schema_version == m.SCHEMA_VERSION
        assert session.scalars(select(m.Stake)).all() == []
    reopened.close()


def test_indexes_opened_at_once_share_one_schema(databases: Databases) -> None:
    # Two API processes starting together on a new database race on CREATE TABLE unless
    # the schema is created under the write lock.
    url = databases.new()
    start = threading.Barrier(4)
    opened: list[Index] = []
    errors: list[BaseException] = []

    def open_index() -> None:
        try:
            start.wait(30)
            opened.append(Index(url))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_index) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert errors == [] and len(opened) == 4
    with opened[0].session() as session:
        assert len(session.scalars(select(m.IndexMeta)).all()) == 1
    for index in opened:
        index.close()


def test_round_committee_and_fee_follow_without_historical_state(fresh: Published,
                                                                 databases: Databases) -> None:
    # A restarted anvil serves only its latest state: the round view at an old block fails,
    # and the committee size and fee are derived from the index (pool count, fee bps) alike.
    blind = Indexer(fresh.w3, fresh.deployment, Index(databases.new()),
                    store_fetcher(fresh.store))
    blind._round_view = lambda *_: None  # type: ignore[method-assign]
    blind.sync()
    fresh.indexer.sync()

    assert dump(blind.index)["rounds"] == dump(fresh.index)["rounds"]
    with blind.index.session() as session:
        row = session.scalars(select(m.Round)).one()
        assert (row.verifier_pool, row.committee_size) == (3, 3)
        assert int(row.fee) == int(row.pool) * 500 // 10_000 > 0
    blind.index.close()
