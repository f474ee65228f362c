"""``fedmarket store put | get | cat | pin | export-car | import-car``: the content store by CID.

The backend is the configured one (the embedded store, or Kubo when ``FEDMARKET_IPFS_API`` or
``--ipfs-api`` is set); ``put`` prints the CID ``ipfs add`` would print for the same file.
"""

from __future__ import annotations

import base64
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import typer

from fedmarket.cli.common import JsonOpt, emit, settings_from, user_errors
from fedmarket.errors import StorageError
from fedmarket.storage import ContentStore, LocalStore, open_store

__all__ = ["app"]

app = typer.Typer(
    help="Put and get files by IPFS CID (embedded store, or Kubo via --ipfs-api).",
    no_args_is_help=True,
)

DataDirOpt = typer.Option(None, "--data-dir", help="Data dir (default ./.fedmarket).")
IpfsApiOpt = typer.Option(
    None, "--ipfs-api", help="Kubo RPC URL, e.g. http://127.0.0.1:5001 (default: embedded store)."
)
CidArg = typer.Argument(..., help="Content ID (Qm… or bafy…/bafk…).")
OutputOpt = typer.Option(None, "-o", "--output", help="Where to write (default: ./CID).")
CarOutArg = typer.Argument(..., help="CAR file to write.")
CarInArg = typer.Argument(..., help="CAR file to read (v1, or v2 with a v1 payload).")


@contextlib.contextmanager
def _store(data_dir: Path | None, ipfs_api: str | None, **flags: object) -> Iterator[ContentStore]:
    settings = settings_from(data_dir=data_dir, ipfs_api=ipfs_api, **flags)
    with user_errors(), open_store(settings) as store:
        try:
            yield store
        except OSError as exc:  # output files: disk full, permissions, missing folders
            raise StorageError(f"{exc.filename or 'file'}: {exc.strerror or exc}") from exc


def _local(store: ContentStore, what: str) -> LocalStore:
    if not isinstance(store, LocalStore):
        raise StorageError(f"{what} needs the embedded store; unset FEDMARKET_IPFS_API")
    return store


@contextlib.contextmanager
def _atomic_output(path: Path) -> Iterator[BinaryIO]:
    """Write to ``path.part`` and rename on success, so a failed check leaves no bad file."""
    part = path.with_name(path.name + ".part")
    try:
        with part.open("wb") as fh:
            yield fh
        os.replace(part, path)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise


class _Counting:
    """Count the bytes read through a stream (stdin has no size to stat)."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self.count += len(data)
        return data


@app.command()
def put(
    file: str = typer.Argument(..., help="File to store, or - for standard input."),
    cid_version: int = typer.Option(None, "--cid-version", help="0 (Qm…, default) or 1 (bafy…)."),
    pin: bool = typer.Option(True, "--pin/--no-pin", help="Pin it, as `ipfs add` does."),
    data_dir: Path = DataDirOpt,
    ipfs_api: str = IpfsApiOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Store FILE and print its CID (the one `ipfs add FILE` prints)."""
    with _store(data_dir, ipfs_api, cid_version=cid_version) as store:
        if file == "-":
            reader = _Counting(sys.stdin.buffer)
            cid = store.put(reader)  # type: ignore[arg-type]
            size = reader.count
        else:
            path = Path(file)
            if not path.is_file():
                raise StorageError(f"{file}: no such file")
            size = path.stat().st_size
            cid = store.put(path)
        if pin:
            store.pin(cid)
        emit(as_json, {"cid": cid, "file": file, "bytes": size, "pinned": pin}, cid)


@app.command()
def get(
    cid: str = CidArg,
    output: Path = OutputOpt,
    data_dir: Path = DataDirOpt,
    ipfs_api: str = IpfsApiOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Write the verified content of CID to a file."""
    target = output or Path(cid)
    with _store(data_dir, ipfs_api) as store, _atomic_output(target) as fh:
        size = 0
        for chunk in store.iter(cid):
            fh.write(chunk)
            size += len(chunk)
    emit(as_json, {"cid": cid, "file": str(target), "bytes": size}, f"wrote {size} B to {target}")


@app.command()
def cat(
    cid: str = CidArg,
    data_dir: Path = DataDirOpt,
    ipfs_api: str = IpfsApiOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Write the verified content of CID to standard output (with --json: base64 in JSON)."""
    with _store(data_dir, ipfs_api) as store:
        if as_json:
            data = store.get(cid)
            emit(True, {"cid": cid, "bytes": len(data), "base64": base64.b64encode(data).decode()})
            return
        out = sys.stdout.buffer
        for chunk in store.iter(cid):
            out.write(chunk)
        out.flush()


@app.command("pin")
def pin_cmd(
    cid: str = CidArg,
    data_dir: Path = DataDirOpt,
    ipfs_api: str = IpfsApiOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Pin CID: check all of its blocks are present and intact, and keep them."""
    with _store(data_dir, ipfs_api) as store:
        store.pin(cid)
    emit(as_json, {"cid": cid, "pinned": True}, f"pinned {cid}")


@app.command("export-car")
def export_car(
    cid: str = CidArg,
    file: Path = CarOutArg,
    data_dir: Path = DataDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Write the DAG of CID to a CARv1 file (readable by `ipfs dag import`)."""
    with _store(data_dir, None) as store, _atomic_output(file) as fh:
        blocks = _local(store, "export-car").export_car(cid, fh)
    emit(
        as_json,
        {"cid": cid, "file": str(file), "blocks": blocks},
        f"wrote {blocks} blocks of {cid} to {file}",
    )


@app.command("import-car")
def import_car(
    file: Path = CarInArg,
    pin_roots: bool = typer.Option(
        True, "--pin-roots/--no-pin-roots", help="Pin the roots, as `ipfs dag import` does."
    ),
    data_dir: Path = DataDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Store every block of a CAR file (each verified against its CID); print its roots."""
    with _store(data_dir, None) as store, file.open("rb") as fh:
        local = _local(store, "import-car")
        roots, blocks = local.import_car(fh)
        if pin_roots:
            for root in roots:
                local.pin(root)
    emit(
        as_json,
        {"roots": roots, "blocks": blocks, "pinned": pin_roots},
        "\n".join(roots) if roots else f"imported {blocks} blocks (no roots)",
    )
