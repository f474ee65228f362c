"""Benchmark the read API on a large index: p50/p99 latency per endpoint at a fixed rate.

Sets up its own world in a temporary data dir: a local anvil node with the contracts (the
API's indexer follows it, as in ``fedmarket api serve``), a synthetic index of ``--projects``
projects x ``--trainers`` trainers x ``--rounds`` rounds written straight into the database
(:mod:`api_index`), on SQLite and on a throwaway PostgreSQL cluster. For each database it
starts the server of ``fedmarket api serve`` in child processes (``python -m
market_api.service --workers N``: the load generator does not share their GIL), and sends an
open-loop load of ``--rate`` requests/s for ``--duration`` s to each endpoint in turn.

Each request picks its project, round or account at random (seeded), so the API's response
cache (keyed by URL) rarely helps: the figures are what the queries cost. Latency is measured
from each request's *scheduled* send time, so a server that falls behind shows it (no
coordinated omission). Everything started is stopped at the end.

    .venv/bin/python bench/api.py [--db sqlite|postgresql|both] [--rate 200] [--duration 10]
                                  [--workers 2] [--projects 1000] [--json]

Target: p99 <= 50 ms at 200 req/s for every endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from api_index import BuiltIndex, IndexShape, build_index, index_size

import market_api
from fedmarket.chain.client import ChainClient, connect, dev_account
from fedmarket.chain.deploy import deploy_contracts
from fedmarket.chain.node import LocalNode
from fedmarket.config import Settings
from market_api.db import Index
from market_api.db.cluster import ThrowawayPostgres

TARGET_P99_MS = 50.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def endpoints(built: BuiltIndex, rng: random.Random) -> dict[str, Callable[[], str]]:
    """Endpoint name -> a generator of request paths at random ids (seeded)."""
    shape = built.shape

    def project() -> int:
        return rng.randrange(1, shape.projects + 1)

    return {
        "/health": lambda: "/health",
        "/projects": lambda: f"/projects?offset={rng.randrange(shape.projects)}&limit=20",
        "/projects/{id}": lambda: f"/projects/{project()}",
        "/projects/{id}/rounds": lambda: f"/projects/{project()}/rounds",
        "/projects/{id}/rounds/{r}":
            lambda: f"/projects/{project()}/rounds/{rng.randrange(1, shape.rounds + 1)}",
        "/trainers/{a}": lambda: f"/trainers/{rng.choice(built.trainers)}",
        "/trainers/{a}/rewards": lambda: f"/trainers/{rng.choice(built.trainers)}/rewards",
        "/verifiers/{a}": lambda: (f"/verifiers/{rng.choice(built.verifiers)}"
                                   f"?offset={rng.randrange(0, 1000, 50)}"),
    }


class Connections:
    """A pool of keep-alive HTTP/1.1 connections, one request at a time on each.

    A plain asyncio client (GET, Content-Length bodies) rather than httpx, whose 1.6 ms of CPU
    per request here would take a third of a core from the server it measures.
    """

    def __init__(self, host: str, port: int, size: int):
        self.host, self.port, self.size = host, port, size
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue())
        self._all: list[asyncio.StreamWriter] = []

    async def open(self) -> None:
        for _ in range(self.size):
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self._all.append(writer)
            self._idle.put_nowait((reader, writer))

    async def get(self, path: str) -> int:
        """The status of ``GET path``; the body is read and dropped."""
        reader, writer = await self._idle.get()
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.lower().split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            if b"connection: close" in head.lower():
                raise ConnectionError("the server closed the connection")
        except BaseException:
            writer.close()
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self._all.append(writer)
            raise
        finally:
            self._idle.put_nowait((reader, writer))
        return status

    def close(self) -> None:
        for writer in self._all:
            writer.close()


async def load(base: str, paths: list[str], rate: float) -> dict[str, Any]:
    """Open-loop load: request i is due at t0 + i/rate; latency counts from that moment."""
    latencies: list[float] = []
    errors = 0
    host, port = base.removeprefix("http://").split(":")
    pool = Connections(host, int(port), 64)
    await pool.open()

    async def one(path: str, due: float) -> None:
        nonlocal errors
        try:
            if await asyncio.wait_for(pool.get(path), 10.0) != 200:
                errors += 1
                return
        except (OSError, ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            errors += 1
            return
        latencies.append((time.perf_counter() - due) * 1000)

    try:
        for path in paths[:20]:  # warm the worker processes
            await pool.get(path)
        tasks = []
        t0 = time.perf_counter() + 0.05
        for i, path in enumerate(paths):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(path, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
    finally:
        pool.close()
    return {"requests": len(paths), "distinct_urls": len(set(paths)), "errors": errors,
            "throughput_rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50), 2),
            "p99_ms": round(percentile(latencies, 99), 2),
            "max_ms": round(max(latencies, default=float("nan")), 2)}


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API server exited with {proc.returncode}: "
                               f"{proc.stderr.read().decode()[-800:] if proc.stderr else ''}")
        try:
            if httpx.get(f"{base}/health", timeout=2).json().get("status") == "ok":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError("the API did not report ok in time")


def serve(data_dir: str, rpc_url: str, index_url: str, workers: int) -> tuple[
        subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ)
    # market_api lives in market-api/: make it importable for the child either way.
    package_root = str(Path(market_api.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    server = subprocess.Popen(
        [sys.executable, "-m", "market_api.service", "--port", str(port), "--data-dir",
         data_dir, "--rpc-url", rpc_url, "--index-url", index_url, "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return server, f"http://127.0.0.1:{port}"


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) of process ``root`` and its children (the uvicorn workers)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if root in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def bench_database(backend: str, url: str, tmp: str, node: LocalNode, head: tuple[int, str],
                   deployment: Any, args: argparse.Namespace) -> dict[str, Any]:
    shape = IndexShape(projects=args.projects, trainers=args.trainers, rounds=args.rounds,
                       pool=args.pool, verifiers=args.verifiers)
    index = Index(url)
    t = time.perf_counter()
    built = build_index(index, deployment, head[0], head[1], shape)
    build_s = time.perf_counter() - t
    size = index_size(index)
    index.close()
    server, base = serve(tmp, node.url, url, args.workers)
    try:
        wait_healthy(base, server)
        rng = random.Random(args.seed)
        total = int(args.rate * args.duration)
        results = {}
        for name, make_path in endpoints(built, rng).items():
            if args.only and name not in args.only:
                continue
            paths = [make_path() for _ in range(total)]
            server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
            results[name] = asyncio.run(load(base, paths, args.rate))
            results[name]["server_cpu_ms"] = round(
                (cpu_seconds(server.pid) - server_cpu) * 1000 / total, 2)
            results[name]["client_cpu_ms"] = round(
                (time.process_time() - client_cpu) * 1000 / total, 2)
    finally:
        stop(server)
    return {"backend": backend, "build_s": round(build_s, 1), "index": size,
            "endpoints": results}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "load_before": os.getloadavg()[0],
            "python": platform.python_version()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    host = machine()
    with tempfile.TemporaryDirectory(prefix="fedmarket-bench-api-") as tmp, ExitStack() as stack:
        settings = Settings(data_dir=Path(tmp))
        node = LocalNode(settings.chain_dir)
        node.start()
        stack.callback(node.stop)
        w3 = connect(node.url)
        deployment = deploy_contracts(ChainClient(w3, dev_account(0)))
        deployment.save(settings.chain_dir / "deployment.json")
        block = w3.eth.get_block("latest")
        head = (int(block["number"]), "0x" + bytes(block["hash"]).hex())
        runs = []
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'index.sqlite'}"
            else:
                cluster = stack.enter_context(ThrowawayPostgres())
                url = cluster.create_database("bench")
            runs.append(bench_database(backend, url, tmp, node, head, deployment, args))
    return {"rate_rps": args.rate, "duration_s": args.duration, "workers": args.workers,
            "shape": {"projects": args.projects, "trainers": args.trainers,
                      "rounds": args.rounds, "trainer_pool": args.pool,
                      "verifiers": args.verifiers},
            "target_p99_ms": TARGET_P99_MS, "machine": host, "runs": runs}


def print_table(report: dict[str, Any]) -> None:
    shape, host = report["shape"], report["machine"]
    print(f"{host['cpu']}, {host['cores']} cores (load {host['load_before']:.1f} before); "
          f"{report['rate_rps']:g} req/s for {report['duration_s']:g} s per endpoint, "
          f"{report['workers']} server worker(s)")
    print(f"index: {shape['projects']:,} projects x {shape['trainers']} trainers x "
          f"{shape['rounds']} rounds (pool of {shape['trainer_pool']:,} trainers, "
          f"{shape['verifiers']} verifiers)")
    for run_ in report["runs"]:
        size = run_["index"]
        print(f"\n{run_['backend']}: {size['verdicts']:,} verdicts, {size['submissions']:,} "
              f"submissions, {size['rounds']:,} rounds, {size['claims']:,} claims, "
              f"{size['bytes'] / 2**20:,.0f} MiB (built in {run_['build_s']} s)")
        print(f"{'endpoint':<28} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
              f"{'errors':>6} {'cpu ms/req':>10}  p99<={TARGET_P99_MS:g}ms")
        for name, r in run_["endpoints"].items():
            ok = "yes" if r["p99_ms"] <= TARGET_P99_MS and r["errors"] == 0 else "NO"
            print(f"{name:<28} {r['throughput_rps']:>7.1f} {r['p50_ms']:>8.2f} "
                  f"{r['p99_ms']:>8.2f} {r['max_ms']:>8.2f} {r['errors']:>6} "
                  f"{r['server_cpu_ms']:>10.2f}  {ok}")
    print("\ncpu ms/req: CPU time of the server processes per request (the load generator's "
          "is in --json)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s per endpoint")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--projects", type=int, default=1_000)
    parser.add_argument("--trainers", type=int, default=50, help="per project")
    parser.add_argument("--rounds", type=int, default=10, help="per project")
    parser.add_argument("--pool", type=int, default=5_000, help="distinct trainers")
    parser.add_argument("--verifiers", type=int, default=20, help="distinct verifiers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", nargs="*", metavar="ENDPOINT",
                        help="bench only these endpoints (as named in the table)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if (args.rate <= 0 or args.duration <= 0 or args.workers < 1 or args.projects < 1
            or args.rounds < 1 or args.verifiers < 2 or not 1 <= args.trainers <= args.pool):
        parser.error("need rate, duration, workers, projects, rounds > 0, verifiers >= 2 "
                     "and 1 <= trainers <= pool")
    report = run(args)
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        print_table(report)


if __name__ == "__main__":
    main()
