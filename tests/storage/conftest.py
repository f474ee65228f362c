"""Fixtures for the content store: a real on-disk store per test and a fake Kubo daemon.

The fake Kubo exists only because no Kubo daemon can run on the test machines. It follows
Kubo's documented RPC (https://docs.ipfs.tech/reference/kubo/rpc/): POST only, multipart
``add`` answered with NDJSON ``{Name, Hash, Size}``, ``cat`` streaming bytes, ``pin/add``
answering ``{Pins}``, ``block/stat`` answering ``{Key, Size}``, errors as HTTP 500 with
``{Message, Code, Type}``. It can be told to lie (serve other bytes, name a wrong CID), which
is what the tests of the backend's re-hashing need.
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from fedmarket.storage import LocalStore
from fedmarket.storage.importer import ImportParams, import_stream


class Zeros(io.RawIOBase):
    """``n`` zero bytes as a stream, so 45 MB vectors cost no memory."""

    def __init__(self, n: int):
        self.left = n

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)


@pytest.fixture
def zeros() -> type[Zeros]:
    """The :class:`Zeros` stream class (test modules here are not importable packages)."""
    return Zeros


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    """A fresh embedded store (fsync off: the tests do not survive power cuts anyway)."""
    return LocalStore(tmp_path / "store", fsync=False)


@dataclass
class FakeKubo:
    """State of the fake daemon, and switches that make it misbehave."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    pins: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)
    serve_wrong_bytes: bool = False
    answer_wrong_cid: bool = False


def _multipart_file(content_type: str, body: bytes) -> bytes:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    for part in message.iter_parts():  # type: ignore[attr-defined]
        return part.get_payload(decode=True) or b""
    raise ValueError("no file part")


def _handler(state: FakeKubo) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return bytes(out)
                    out += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))

        def _reply(self, status: int, payload: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _error(self, message: str) -> None:
            body = {"Message": message, "Code": 0, "Type": "error"}
            self._reply(500, json.dumps(body).encode())

        def do_GET(self) -> None:  # noqa: N802  (Kubo's RPC refuses GET)
            self._reply(405, b"405 - Method Not Allowed", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            body = self._body()
            state.requests.append((url.path, self.headers.get("Content-Type", ""), query))
            arg = query.get("arg", [""])[0]
            if url.path == "/api/v0/add":
                data = _multipart_file(self.headers["Content-Type"], body)
                params = ImportParams(
                    cid_version=int(query.get("cid-version", ["0"])[0]),
                    raw_leaves=query.get("raw-leaves", ["false"])[0] == "true",
                )
                node = import_stream(io.BytesIO(data), None, params)
                cid = str(node.cid)
                state.files[cid] = data
                if state.answer_wrong_cid:
                    cid = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
                line = {"Name": "file", "Hash": cid, "Size": str(node.dag_size)}
                self._reply(200, (json.dumps(line) + "\n").encode(), "application/x-ndjson")
            elif url.path == "/api/v0/cat":
                if arg not in state.files:
                    self._error(
                        f"block was not found locally (offline): ipld: could not find {arg}"
                    )
                    return
                data = state.files[arg]
                if state.serve_wrong_bytes:
                    data = data[:-1] + bytes([data[-1] ^ 1]) if data else b"x"
                self._reply(200, data, "text/plain")
            elif url.path == "/api/v0/pin/add":
                if arg not in state.files:
                    self._error(f"pin: block was not found locally: {arg}")
                    return
                state.pins.add(arg)
                self._reply(200, json.dumps({"Pins": [arg]}).encode())
            elif url.path == "/api/v0/block/stat":
                if arg not in state.files:
                    self._error(
                        f"block was not found locally (offline): ipld: could not find {arg}"
                    )
                    return
                self._reply(200, json.dumps({"Key": arg, "Size": len(state.files[arg])}).encode())
            else:
                self._reply(404, b"404 page not found", "text/plain")

    return Handler


@pytest.fixture
def fake_kubo() -> Iterator[FakeKubo]:
    """A fake Kubo RPC on a free 127.0.0.1 port, shut down when the test ends."""
    state = FakeKubo()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
