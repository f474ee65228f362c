"""``fedmarket store …`` through typer's CliRunner, on a real data dir."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedmarket.cli.store import app

KiB = 1024


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Invoke ``fedmarket store`` with a fresh data dir and no ambient configuration."""
    for name in ("FEDMARKET_IPFS_API", "FEDMARKET_CID_VERSION", "FEDMARKET_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    data_dir = str(tmp_path / "data")

    def invoke(*args: str, stdin: bytes | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, [*args, "--data-dir", data_dir], input=stdin)

    return invoke


@pytest.mark.parametrize(
    ("content", "cid"),
    [
        (b"", "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"),
        (b"x", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
        (bytes(256 * KiB), "QmRk1rduJvo5DfEYAaLobS2za9tDszk35hzaNSDCJ74DA7"),
        (bytes(256 * KiB + 1), "QmbVuw4C4vcmVKqxoWtgDVobvcHrSn51qsmQmyxjk4sB2Q"),
    ],
)
def test_put_prints_the_ipfs_add_cid(run, tmp_path: Path, content: bytes, cid: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "f").write_bytes(content)

    result = run("put", "f")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == cid


def test_put_20mib_then_cat_returns_the_bytes(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(20 * KiB * KiB)
    (tmp_path / "big").write_bytes(data)

    cid = run("put", "big").stdout.strip()
    result = run("cat", cid)

    assert result.exit_code == 0
    assert result.stdout_bytes == data


def test_put_json_and_cid_version_1(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "f").write_bytes(b"Hello IPFS\n")

    result = run("put", "f", "--cid-version", "1", "--json")

    assert json.loads(result.stdout) == {
        "cid": "bafkreidfdrlkeq4m4xnxuyx6iae76fdm4wgl5d4xzsb77ixhyqwumhz244",
        "file": "f",
        "bytes": 11,
        "pinned": True,
    }


def test_put_from_stdin(run) -> None:  # type: ignore[no-untyped-def]
    result = run("put", "-", stdin=b"hello world\n")

    assert result.stdout.strip() == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"


def test_get_writes_the_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "f").write_bytes(b"payload")
    cid = run("put", "f").stdout.strip()

    result = run("get", cid, "-o", "out.bin", "--json")

    assert json.loads(result.stdout)["bytes"] == 7
    assert (tmp_path / "out.bin").read_bytes() == b"payload"


def test_cat_json_is_base64(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "f").write_bytes(b"hi")
    cid = run("put", "f").stdout.strip()

    assert json.loads(run("cat", cid, "--json").stdout)["base64"] == "aGk="


def test_corrupted_block_is_a_one_line_error_and_no_output_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "f").write_bytes(os.urandom(300_000))
    cid = run("put", "f").stdout.strip()
    leaf = max((tmp_path / "data" / "store" / "blocks").rglob("*.data"), key=os.path.getsize)
    leaf.write_bytes(leaf.read_bytes()[:-1] + b"!")

    result = run("get", cid, "-o", "out.bin")

    assert result.exit_code == 1
    assert "corrupted" in result.stderr and cid in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.bin").exists() and not (tmp_path / "out.bin.part").exists()


def test_pin_and_car_round_trip(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "f").write_bytes(os.urandom(600_000))
    cid = run("put", "f", "--no-pin").stdout.strip()

    pinned = run("pin", cid, "--json")
    exported = run("export-car", cid, "f.car", "--json")
    other = CliRunner().invoke(
        app, ["import-car", "f.car", "--json", "--data-dir", str(tmp_path / "other")]
    )

    assert json.loads(pinned.stdout) == {"cid": cid, "pinned": True}
    assert json.loads(exported.stdout)["blocks"] == 4
    assert json.loads(other.stdout) == {"roots": [cid], "blocks": 4, "pinned": True}


def test_bad_input_exits_non_zero_with_a_reason(run) -> None:  # type: ignore[no-untyped-def]
    missing = run("put", "nope.bin")
    bad_cid = run("cat", "not-a-cid")
    unknown = run("cat", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")

    assert missing.exit_code == 1 and "no such file" in missing.stderr
    assert bad_cid.exit_code == 1 and "not a valid CID" in bad_cid.stderr
    assert unknown.exit_code == 1 and "not in the local store" in unknown.stderr


def test_kubo_backend_is_chosen_by_flag(run, tmp_path: Path, fake_kubo) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "f").write_bytes(b"hello world\n")

    result = run("put", "f", "--ipfs-api", fake_kubo.url)

    assert result.stdout.strip() == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    assert "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o" in fake_kubo.pins
    assert not (tmp_path / "data" / "store").exists()
