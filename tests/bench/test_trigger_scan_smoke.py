"""The trigger reverse-engineering measurement (bench/trigger_scan.py) on a reduced case."""

import pytest


@pytest.fixture
def scan(load_bench):
    return load_bench("trigger_scan")


def test_a_planted_trigger_needs_a_smaller_mask_than_honest_models_in_iid(scan):
    records = scan.run_case((0, "iid", "backdoor", 3, 150, 1, scan.CALIBRATION_STEPS))

    assert len(records) == 10 and {r["party"] for r in records} == set(range(10))
    bad = [r for r in records if r["attacker"]]
    honest = [r for r in records if not r["attacker"]]
    assert {r["party"] for r in bad} == {7, 8, 9}
    # IID, round 1: the backdoored models' shortcut is to the trigger's target, class 0, and
    # needs well under what their peers need for it (measured 0.2-0.5 vs honest >= 0.6).
    assert all(r["class"] == 0 for r in bad)
    assert max(r["ratio"] for r in bad) < min(r["ratio"] for r in honest)
    for r in records:
        assert 0.0 <= r["flips_own"] <= 1.0 and 0.0 <= r["flips_reference"] <= 1.0
        assert 0.0 < r["norm"] <= 64.0  # a mask on 64 features, each in [0, 1]
    (row,) = scan.summarise(records)
    assert row["split"] == "iid" and row["separable"] and row["honest_rejected_to_catch_all"] == 0
