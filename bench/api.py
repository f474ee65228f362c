"""Benchmark the read API under a bounded loopback load: p50/p99 latency and requests/s.

Sets up its own world in a temporary data dir: a local anvil node, the contracts, a sample
project played to the end by dev accounts (``--trainers`` trainers, ``--rounds`` rounds, real
round results in the embedded store), then the server of ``fedmarket api serve`` in a child
process (``python -m market_api.service``: the load generator does not share its GIL), waits
for its indexer to reach the head, and sends an open-loop load of ``--rate`` requests/s for
``--duration`` s to each endpoint in turn:

    /projects/{id}/rounds/{r}      the heaviest round detail (all trainers, attestations)
    /trainers/{a}/rewards          an unclaimed trainer (rebuilds Merkle proofs per round)

Latency is measured from each request's *scheduled* send time, so a server that falls behind
shows it (no coordinated omission). Everything started is stopped at the end.

    .venv/bin/python bench/api.py [--rate 200] [--duration 20] [--json]

Target: p99 <= 50 ms at 200 req/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

import market_api
from fedmarket.chain.client import ChainClient, connect, dev_account
from fedmarket.chain.deploy import deploy_contracts
from fedmarket.chain.node import LocalNode
from fedmarket.config import Settings
from fedmarket.storage import LocalStore
from market_api.sample import SampleMarket

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


async def load(url: str, rate: float, duration: float) -> dict[str, Any]:
    """Open-loop load: request i is due at t0 + i/rate; latency counts from that moment."""
    total = int(rate * duration)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
        await client.get(url)  # warm the connection and the server's caches

        async def one(due: float) -> None:
            nonlocal errors
            try:
                response = await client.get(url)
                if response.status_code != 200:
                    errors += 1
                    return
            except httpx.HTTPError:
                errors += 1
                return
            latencies.append((time.perf_counter() - due) * 1000)

        tasks = []
        t0 = time.perf_counter() + 0.05
        for i in range(total):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
    return {"requests": total, "errors": errors, "throughput_rps": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies, default=float("nan"))}


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).json().get("status") == "ok":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError("the API did not catch up with the chain in time")


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fedmarket-bench-api-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        node = LocalNode(settings.chain_dir)
        node.start()
        server: subprocess.Popen[bytes] | None = None
        try:
            w3 = connect(node.url)
            deployment = deploy_contracts(ChainClient(w3, dev_account(0)))
            deployment.save(settings.chain_dir / "deployment.json")
            market = SampleMarket(w3, deployment, LocalStore(settings.store_dir))
            t = time.perf_counter()
            sample = market.play(trainers=args.trainers, rounds=args.rounds)
            setup_s = time.perf_counter() - t
            port = free_port()
            env = dict(os.environ)
            # market_api lives in market-api/: make it importable for the child either way.
            package_root = str(Path(market_api.__file__).resolve().parent.parent)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root,
                                                              env.get("PYTHONPATH")]))
            server = subprocess.Popen(
                [sys.executable, "-m", "market_api.service", "--port", str(port),
                 "--data-dir", tmp, "--rpc-url", node.url],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, server)
            unclaimed = sample.trainers[1]
            targets = {
                "/projects/{id}/rounds/{r}": f"{base}/projects/{sample.project}/rounds/"
                                             f"{sample.rounds}",
                "/trainers/{a}/rewards": f"{base}/trainers/{unclaimed}/rewards",
            }
            results = {name: asyncio.run(load(url, args.rate, args.duration))
                       for name, url in targets.items()}
        finally:
            if server is not None:
                server.terminate()
                try:
                    server.wait(10)
                except subprocess.TimeoutExpired:
                    server.kill()
            node.stop()
    return {"rate_rps": args.rate, "duration_s": args.duration, "trainers": args.trainers,
            "rounds": args.rounds, "setup_s": round(setup_s, 2), "target_p99_ms": TARGET_P99_MS,
            "endpoints": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s per endpoint")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per endpoint")
    parser.add_argument("--trainers", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.rate <= 0 or args.duration <= 0 or args.trainers < 2 or args.rounds < 1:
        parser.error("need rate > 0, duration > 0, trainers >= 2, rounds >= 1")
    report = run(args)
    if args.json:
        print(json.dumps(report, sort_keys=True))
        return
    print(f"loopback load: {args.rate:g} req/s for {args.duration:g} s per endpoint "
          f"({args.trainers} trainers, {args.rounds} round(s); setup {report['setup_s']} s)")
    print(f"{'endpoint':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'errors':>7}  p99<={TARGET_P99_MS:g}ms")
    for name, r in report["endpoints"].items():
        ok = "yes" if r["p99_ms"] <= TARGET_P99_MS and r["errors"] == 0 else "NO"
        print(f"{name:<28} {r['throughput_rps']:>8.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
              f"{r['max_ms']:>8.2f} {r['errors']:>7}  {ok}")


if __name__ == "__main__":
    main()
