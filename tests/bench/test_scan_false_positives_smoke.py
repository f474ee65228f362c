"""The scan's honest false-positive measurement (bench/scan_false_positives.py), reduced."""

from __future__ import annotations

import json


def test_a_reduced_grid_counts_honest_rejections_and_writes_the_table(load_bench, tmp_path,
                                                                        capsys):
    bench = load_bench("scan_false_positives")

    assert bench.main(["--tasks", "wine", "--trainings", "adam", "--seeds", "0",
                       "--out", str(tmp_path), "--json"]) == 0

    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["task"], r["split"]) for r in rows] == [("wine", "iid"), ("wine", "dir0.5")]
    for row in rows:
        assert row["default_on"] is True  # 13 features, 3 classes, a small MLP
        assert row["party_rounds"] == 30 and 0 <= row["honest_rejected"] <= row["party_rounds"]
    table = (tmp_path / "scan_false_positives.md").read_text()
    assert "| wine | yes | adam |" in table
    # breast cancer's two classes keep the scan off by default
    _, spec = bench.task("tabular", bench.TRAININGS["adam"])
    assert bench.default_shortcut_bar(spec) == 0.0
