import subprocess
from pathlib import Path

import pytest

from fedmarket.chain import compile as compile_mod
from fedmarket.chain.compile import compile_contracts
from fedmarket.errors import ChainError
from tests.chain.sol_fixtures import PING_SOL


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "Ping.sol").write_text(PING_SOL)
    return contracts


def test_compile_writes_abi_bytecode_and_source_hash(sources: Path, tmp_path: Path) -> None:
    artifacts = compile_contracts(sources, tmp_path / "build")

    ping = artifacts["Ping"]
    assert any(item.get("name") == "PingTooLow" for item in ping.abi)
    assert ping.bytecode.startswith("0x") and len(ping.bytecode) > 100
    assert len(ping.source_hash) == 64
    assert (tmp_path / "build" / "Ping.json").is_file()


def test_compile_is_skipped_when_sources_are_unchanged(
    sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compile_contracts(sources, tmp_path / "build")

    def no_compiler(*args: object, **kwargs: object) -> None:
        raise AssertionError("the compiler ran although nothing changed")

    monkeypatch.setattr(compile_mod.subprocess, "run", no_compiler)
    again = compile_contracts(sources, tmp_path / "build")

    assert "Ping" in again


def test_compile_reruns_when_a_source_changes(sources: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    first = compile_contracts(sources, tmp_path / "build")["Ping"]
    (sources / "Ping.sol").write_text(PING_SOL.replace("x < 3", "x < 4"))
    calls: list[object] = []
    real_run = subprocess.run

    def counting_run(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real_run(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(compile_mod.subprocess, "run", counting_run)
    second = compile_contracts(sources, tmp_path / "build")["Ping"]

    assert len(calls) == 1
    assert second.source_hash != first.source_hash


def test_compile_reports_solidity_errors_readably(sources: Path, tmp_path: Path) -> None:
    (sources / "Broken.sol").write_text("pragma solidity ^0.8.24; contract Broken { uint x = ; }")

    with pytest.raises(ChainError, match="Broken.sol"):
        compile_contracts(sources, tmp_path / "build")


def test_compile_refuses_an_empty_contracts_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    with pytest.raises(ChainError, match="no Solidity sources"):
        compile_contracts(tmp_path / "empty", tmp_path / "build")
