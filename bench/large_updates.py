"""Large updates through the codec and the store: time and peak memory, whole-file vs streamed.

    .venv/bin/python bench/large_updates.py                  # D = 10M and 100M, a table
    .venv/bin/python bench/large_updates.py --dims 1e6 --json

For an update of D float32 parameters (an MLP sized to D), two paths a trainer and an aggregator
take, each measured in a fresh child process so that its peak resident memory is its own:

* **write**: the trainer's delta tensors into the content store — in memory
  (``encode_update`` → bytes → ``store.put``) vs streamed (``codec_stream.write_file`` to a
  spooled temporary file → ``store.put`` reading it);
* **read**: one update from the store into the aggregator's row of the ``[N, D]`` stack — in
  memory (``store.get`` → ``decode_update`` → ``flatten`` → row) vs streamed
  (``store.open`` → ``codec_stream.read_into`` the row).

"extra MB" is the child's peak resident memory minus what it held before the measured step (the
input tensors or the preallocated row, already touched), next to the file size: the in-memory
paths hold several whole copies at their peak, the streamed ones about none.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

MB = 1024 * 1024


def _spec(dim: int) -> Any:
    """An MLP with about ``dim`` parameters (input width 1000, one hidden layer)."""
    from fedmarket.modelspec import ModelSpec

    hidden = max(1, dim // 1011)
    return ModelSpec("mlp", (1000,), 10, (hidden,))


def _peak_mb() -> float:
    """Peak resident memory of this process so far (VmHWM), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _reset_peak() -> None:
    """Start a new peak from the present resident size (Linux: write 5 to clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


def _child(op: str, dim: int, folder: str) -> dict[str, float]:
    import torch

    from fedmarket.codec import UpdateHeader, decode_update, encode_update, flatten
    from fedmarket.codec_stream import read_into, write_file
    from fedmarket.storage.local import LocalStore

    spec = _spec(dim)
    store = LocalStore(Path(folder), fsync=False)
    header = UpdateHeader(1, 1, "0x" + "ab" * 20, 100, spec.hash())
    gen = torch.Generator().manual_seed(0)
    if op.startswith("write"):
        tensors = {n: torch.randn(s, generator=gen) for n, s in spec.param_shapes().items()}
        _reset_peak()
        before = _peak_mb()
        started = time.perf_counter()
        if op == "write-memory":
            cid = store.put(encode_update(tensors, header, spec))
        else:
            with tempfile.TemporaryFile(dir=folder) as spool:
                write_file(spool, "update", tensors, header, spec)
                spool.seek(0)
                cid = store.put(spool)
        seconds = time.perf_counter() - started
        Path(folder, "cid").write_text(cid)
    else:
        cid = Path(folder, "cid").read_text()
        row = torch.zeros(spec.num_params())  # the aggregator's row, already resident
        _reset_peak()
        before = _peak_mb()
        started = time.perf_counter()
        if op == "read-memory":
            tensors, _ = decode_update(store.get(cid), spec, max_bytes=2**40)
            row.copy_(flatten(tensors))
        else:
            with store.open(cid) as stream:
                read_into(stream, "update", row, spec)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "extra_mb": _peak_mb() - before}


def _measure(op: str, dim: int, folder: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", op, "--dims", str(dim),
                          "--folder", folder], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", default="1e7,1e8", help="comma-separated parameter counts")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    dims = [int(float(d)) for d in args.dims.split(",")]
    if args.child:
        print(json.dumps(_child(args.child, dims[0], args.folder)))
        return
    rows = []
    for dim in dims:
        with tempfile.TemporaryDirectory() as folder:
            result: dict[str, Any] = {"dim": _spec(dim).num_params()}
            for op in ("write-memory", "write-stream", "read-memory", "read-stream"):
                result[op] = _measure(op, dim, folder)
            result["file_mb"] = sum(f.stat().st_size for f in Path(folder).rglob("*")
                                    if f.is_file() and f.name != "cid") / MB
            rows.append(result)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    if args.json:
        print(json.dumps({"machine": machine, "rows": rows}))
        return
    print(f"large updates ({machine}); seconds / extra peak MB over what was already resident")
    print(f"{'D':>12} {'store MB':>9} | {'write: memory':>16} {'stream':>16} {'ratio':>6} | "
          f"{'read: memory':>16} {'stream':>16} {'ratio':>6}")
    for r in rows:
        cells = []
        for a, b in (("write-memory", "write-stream"), ("read-memory", "read-stream")):
            ratio = r[a]["extra_mb"] / max(r[b]["extra_mb"], 1.0)
            cells.append(f"{r[a]['seconds']:6.2f} s {r[a]['extra_mb']:6.0f} MB "
                         f"{r[b]['seconds']:6.2f} s {r[b]['extra_mb']:6.0f} MB {ratio:5.1f}x")
        print(f"{r['dim']:>12,} {r['file_mb']:9.0f} | {cells[0]} | {cells[1]}")


if __name__ == "__main__":
    main()
