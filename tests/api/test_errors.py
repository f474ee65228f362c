"""Bad input is a documented 4xx with one body format; nothing a client sends is a 500."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from market_api.api.deps import ADDRESS_DETAIL, ADDRESS_PATTERN, INT64_MAX
from market_api.api.errors import INTERNAL_DETAIL, UNAVAILABLE_DETAIL
from market_api.db import Index
from market_api.main import create_app
from tests.api.conftest import Published

TOO_BIG = str(INT64_MAX + 1)
TOO_SMALL = str(-INT64_MAX - 2)


@pytest.mark.parametrize("path", [
    f"/projects/{TOO_BIG}", f"/projects/{TOO_SMALL}", f"/projects/{TOO_BIG}/rounds",
    f"/projects/1/rounds/{TOO_BIG}", f"/projects/{TOO_BIG}/rounds/1",
    f"/projects?offset={TOO_BIG}", f"/projects/1/rounds?offset={TOO_BIG}",
    f"/projects?limit={TOO_BIG}", "/projects/0", "/projects/1/rounds/0", "/projects/1e400",
])
def test_integers_outside_the_schema_are_422(api: TestClient, path: str) -> None:
    response = api.get(path)

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail.startswith("Invalid request: ")
    assert " parameter " in detail


def test_largest_ids_are_plain_not_found(api: TestClient) -> None:
    # 2**31 overflowed PostgreSQL's INTEGER round column; 2**63 - 1 is the schema's maximum.
    assert api.get(f"/projects/{INT64_MAX}").json() == {"detail": "Project not found"}
    for round_no in (2**31, 2**32, INT64_MAX):
        response = api.get(f"/projects/1/rounds/{round_no}")
        assert (response.status_code, response.json()) == (404, {"detail": "Round not found"})
    assert api.get(f"/projects?offset={INT64_MAX}").json()["data"] == []


@pytest.mark.parametrize("path", ["/trainers/{a}", "/trainers/{a}/rewards", "/verifiers/{a}"])
@pytest.mark.parametrize("suffix", ["%0A", "%0D%0A", "%20", "%00", "%0A%0A"])
def test_address_with_trailing_whitespace_is_422(api: TestClient, published: Published,
                                                 path: str, suffix: str) -> None:
    response = api.get(path.format(a=published.sample.trainers[0] + suffix))

    assert (response.status_code, response.json()) == (422, {"detail": ADDRESS_DETAIL})


def test_schema_declares_bounds_and_patterns(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()

    def parameter(path: str, name: str) -> dict[str, object]:
        found = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
        return found[0]["schema"]  # type: ignore[no-any-return]

    for path, name in [("/projects/{project_id}", "project_id"),
                       ("/projects/{project_id}/rounds/{round_no}", "round_no")]:
        assert (parameter(path, name)["minimum"], parameter(path, name)["maximum"]) == (
            1, INT64_MAX)
    assert parameter("/projects", "offset")["maximum"] == INT64_MAX
    assert parameter("/projects", "limit")["maximum"] == 200
    for path in ("/trainers/{address}", "/trainers/{address}/rewards", "/verifiers/{address}"):
        assert parameter(path, "address")["pattern"] == ADDRESS_PATTERN


def test_every_documented_error_has_the_error_body(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    error_ref = "#/components/schemas/ErrorPublic"

    for path, item in spec["paths"].items():
        for status in ("422", "500", "503"):
            content = item["get"]["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": error_ref}, (path, status)
        if "{" in path:
            content = item["get"]["responses"]["404"]["content"]["application/json"]
            assert content["schema"] == {"$ref": error_ref}, (path, "404")
    assert spec["components"]["schemas"]["ErrorPublic"]["required"] == ["detail"]


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/nowhere", 404), ("POST", "/projects", 405), ("GET", "/projects?limit=x", 422),
    ("GET", "/projects/abc", 422), ("GET", "/projects/99", 404),
])
def test_errors_share_one_body_format(api: TestClient, method: str, path: str,
                                      status: int) -> None:
    response = api.request(method, path)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["detail"] and isinstance(body["detail"], str)


def test_docs_are_served_from_the_package(api: TestClient) -> None:
    html = api.get("/docs").text

    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "/static/vendor/swagger-ui/swagger-ui.css" in html
    assert "https://" not in html and "http://" not in html  # no CDN: works offline
    bundle = api.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 500_000
    assert api.get("/static/vendor/swagger-ui/swagger-ui.css").status_code == 200
    assert api.get("/static/vendor/swagger-ui/LICENSE").status_code == 200


# -- a real server: what a pooled client sees after a failure


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def broken_app(tmp_path: object) -> Iterator[tuple[FastAPI, Index]]:
    """An app over an empty index, with one route that fails the way a bug would."""
    index = Index(f"sqlite:///{tmp_path}/index.sqlite")
    app = create_app(index, 31337)

    @app.get("/bug", include_in_schema=False)
    def bug() -> None:
        raise RuntimeError("a bug in a route")

    yield app, index
    index.close()


@pytest.fixture
def served(broken_app: tuple[FastAPI, Index]) -> Iterator[int]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(broken_app[0], host="127.0.0.1", port=port,
                                           log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(10)


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, dict[str, str], object]:
    conn.request("GET", path)
    response = conn.getresponse()
    body = json.loads(response.read())
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def test_a_500_keeps_the_connection_usable(served: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", served, timeout=10)
    try:
        status, headers, body = _get(conn, "/bug")
        assert (status, body) == (500, {"detail": INTERNAL_DETAIL})
        assert headers.get("connection", "keep-alive") != "close"

        status, _, body = _get(conn, "/projects")  # same socket: still open

        assert (status, body) == (200, {"data": [], "count": 0})
    finally:
        conn.close()


def test_unavailable_index_is_503_on_a_kept_connection(served: int,
                                                       broken_app: tuple[FastAPI, Index]
                                                       ) -> None:
    index = broken_app[1]
    with index.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE projects")
    conn = http.client.HTTPConnection("127.0.0.1", served, timeout=10)
    try:
        status, headers, body = _get(conn, "/projects")
        assert (status, body) == (503, {"detail": UNAVAILABLE_DETAIL})
        assert headers["retry-after"] == "1"

        status, _, _ = _get(conn, "/openapi.json")

        assert status == 200
    finally:
        conn.close()
