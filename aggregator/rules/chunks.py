"""Column chunks of the update matrix.

Every rule walks the update matrix ``[N, D]`` in column chunks so that the extra memory stays
bounded (about :data:`CHUNK_ELEMENTS` elements per temporary, whatever ``D`` is) and each chunk is
still in cache when it is reused. :func:`map_chunks` runs a function on every chunk, in order, on
the calling thread (torch's own intra-op threads do the parallel work). Chunk boundaries depend
only on ``N`` and ``D``, so a call is reproducible bit for bit on the same machine and threads.

Handing chunks to single-threaded worker threads was measured too (faster on a shared machine,
and it would run numpy's one-threaded sorts on every core), but MKL's results for the same chunk
then varied with what the worker had run before, which breaks reproducibility. The compiled
kernels (the ``*_kernel`` modules) do run on :func:`worker_pool`'s threads: their
arithmetic is fixed code, and each thread gets a fixed part of the work.

After a parallel torch op, torch's OpenMP workers spin for a few milliseconds waiting for more
work, taking a core from the kernel threads that run next (measured on 2 cores: +3 ms on Krum at
N = 50, D = 1M). So the rules that end in a kernel do their own small whole-row steps on the
calling thread (:func:`copy_row`, :func:`all_finite`) rather than as parallel torch ops.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import torch

__all__ = [
    "CHUNK_ELEMENTS",
    "column_chunks",
    "map_chunks",
    "scratch",
    "worker_pool",
    "copy_row",
    "all_finite",
    "run_row_parts",
    "on_threads",
    "kernel_input",
]

#: Elements per chunk (4 MiB of float32): big enough that a chunk's BLAS call or sort dwarfs the
#: per-chunk overhead, small enough that a chunk's temporaries stay near the cache.
CHUNK_ELEMENTS = 1 << 20

_T = TypeVar("_T")
_local = threading.local()  # per-thread scratch buffers, by dtype
_pool_lock = threading.Lock()
_pool: tuple[int, int, ThreadPoolExecutor] | None = None  # (pid, workers, pool)


def column_chunks(n_rows: int, dim: int, budget: int | None = None) -> list[slice]:
    """Return column slices of ``[0, dim)`` holding about ``budget`` elements over ``n_rows``.

    ``budget`` defaults to :data:`CHUNK_ELEMENTS`; chunks are at least 256 columns wide.
    """
    width = max(256, (budget or CHUNK_ELEMENTS) // max(1, n_rows))
    return [slice(start, min(dim, start + width)) for start in range(0, dim, width)]


def map_chunks(
    fn: Callable[[slice], _T], n_rows: int, dim: int, budget: int | None = None
) -> Iterator[_T]:
    """Yield ``fn(cols)`` for every chunk of :func:`column_chunks`, in chunk order."""
    return map(fn, column_chunks(n_rows, dim, budget))


def scratch(shape: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
    """Return an uninitialised ``shape`` tensor reused by the calling thread, chunk to chunk.

    Saves a fresh allocation (and its page faults) per chunk; valid until the thread's next call.
    """
    need = shape[0] * shape[1]
    buffers: dict[torch.dtype, torch.Tensor] = _local.__dict__.setdefault("buffers", {})
    buf = buffers.get(dtype)
    if buf is None or buf.numel() < need:
        buf = buffers[dtype] = torch.empty(need, dtype=dtype)
    return buf[:need].view(shape)


def worker_pool() -> ThreadPoolExecutor:
    """Return the threads that run the compiled kernels (one per torch thread).

    Made anew after a fork (a child has none of its parent's threads) or a change of torch's
    thread count. Kernels split their work in fixed parts, so results never depend on it.
    """
    global _pool
    want = max(1, torch.get_num_threads())
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid() or _pool[1] != want:
            _pool = (os.getpid(), want, ThreadPoolExecutor(want, thread_name_prefix="kernel"))
        return _pool[2]


def copy_row(updates: torch.Tensor, index: int) -> torch.Tensor:
    """Return a copy of one row, made on the calling thread (see the module notes)."""
    row = updates[index]
    if row.device.type != "cpu" or row.dtype not in (torch.float32, torch.float64):
        return row.clone()
    return torch.from_numpy(row.detach().numpy().copy())


def all_finite(vector: torch.Tensor) -> bool:
    """Tell whether a tensor holds no NaN or infinity, checked on the calling thread."""
    if vector.device.type != "cpu" or vector.dtype not in (torch.float32, torch.float64):
        return bool(torch.isfinite(vector).all())
    return bool(np.isfinite(vector.detach().numpy()).all())


def kernel_input(updates: torch.Tensor) -> bool:
    """Tell whether the compiled kernels can read ``updates`` in place: float32, contiguous, CPU."""
    return (
        updates.dtype == torch.float32 and updates.device.type == "cpu" and updates.is_contiguous()
    )


def on_threads(
    fn: Callable[[int, int], _T], stop: int, start: int = 0, unit: int = 1
) -> list[_T]:
    """Run ``fn(lo, hi)`` over ``[start, stop)`` cut in one contiguous range per thread.

    Inner cuts fall on whole ``unit``s from ``start``. The first range runs on the calling
    thread, the others on :func:`worker_pool`; results come back in range order. Callers give
    kernels whose results do not depend on where the cuts fall.
    """
    units = math.ceil((stop - start) / unit)
    parts = max(1, min(units, torch.get_num_threads()))
    cuts = [min(stop, start + units * g // parts * unit) for g in range(parts + 1)]
    pending = [worker_pool().submit(fn, cuts[g], cuts[g + 1]) for g in range(1, parts)]
    return [fn(cuts[0], cuts[1])] + [job.result() for job in pending]


def run_row_parts(kernel: Callable[..., None], rows: np.ndarray, *args: object) -> np.ndarray:
    """Run ``kernel(rows_part, *args, out_part)`` over row ranges on the worker threads.

    For kernels that compute one float64 per row of ``rows`` independently of the others, so
    the split does not change any result; returns the ``[len(rows)]`` output.
    """
    out = np.empty(rows.shape[0])
    on_threads(lambda lo, hi: kernel(rows[lo:hi], *args, out[lo:hi]), rows.shape[0])
    return out
