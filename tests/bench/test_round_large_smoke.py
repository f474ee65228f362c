"""bench/round_large.py plays a whole round on its own anvil and splits its time by phase."""

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "round_large.py"


def test_a_small_compressed_round_is_finalized_and_every_phase_is_timed() -> None:
    # Its own process: the bench wraps module functions to time them.
    out = subprocess.run([sys.executable, str(BENCH), "--dim", "1e5", "--compression", "int8",
                          "--json"], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr

    result = json.loads(out.stdout.strip().splitlines()[-1])

    assert (result["agrees"], result["disagrees"]) == (2, 0)
    assert all(result["phases"][p] > 0 for p in ("training", "upload", "download",
                                                  "aggregation + scoring", "verification"))
    assert abs(sum(result["phases"].values()) - result["total_s"]) < 1e-6
    assert 0 < result["market_share"] < 1
    plain_bytes = 4 * result["dim"]
    assert all(size * 3.5 < plain_bytes for size in result["update_bytes"])  # int8 on the wire
