import json

import pytest
from eth_utils import keccak

from fedmarket.merkle import reward_tree
from fedmarket.round_result import RoundResult, RoundResultError, TrainerEntry

ALICE = "0x1111111111111111111111111111111111111111"
BOB = "0x2222222222222222222222222222222222222222"


def make_result(**changes):
    tree = reward_tree(7, 1, [(ALICE, 600), (BOB, 0)])
    base = dict(
        project=7, round=1, rule="multi_krum", rule_params={"f": 1, "m": None},
        scorer="cosine", scorer_params={}, seed=12345, base_model_cid="bafyA",
        model_cid="bafyB", pool=1000,
        trainers=(
            TrainerEntry(ALICE, "bafy1", 10, True, None, {"krum_score": 1.5}, 900_000, 600),
            TrainerEntry(BOB, "bafy2", 20, False, "duplicate_update", {}, 0, 0),
        ),
        rewards_root=tree.root_hex,
    )
    base.update(changes)
    return RoundResult(**base)


def test_roundtrip_and_hash():
    result = make_result()
    data = result.to_bytes()
    assert b" " not in data
    parsed = RoundResult.from_bytes(data)
    assert parsed == result
    assert parsed.result_hash() == keccak(data)
    assert json.loads(data)["total"] == "600"


def test_hash_stable_under_key_order():
    result = make_result()
    obj = json.loads(result.to_bytes())
    reordered = json.dumps(dict(reversed(list(obj.items()))), indent=2).encode()
    parsed = RoundResult.from_bytes(reordered, require_canonical=False)
    assert parsed.result_hash() == result.result_hash()
    with pytest.raises(RoundResultError, match="not canonical"):
        RoundResult.from_bytes(reordered)


def test_bad_root_rejected():
    with pytest.raises(RoundResultError, match="rewards_root"):
        make_result(rewards_root="0x" + "00" * 32).to_bytes()


def test_rejected_trainer_cannot_be_paid():
    entry = TrainerEntry(BOB, "bafy2", 20, False, "non_finite", {}, 0, 5)
    with pytest.raises(RoundResultError, match="paid nothing"):
        make_result(trainers=(make_result().trainers[0], entry)).validate()


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda o: o.pop("pool"), "lacks"),
        (lambda o: o.__setitem__("pool", 1000), "decimal string"),
        (lambda o: o.__setitem__("total", "5"), "total"),
        (lambda o: o["trainers"][0].__setitem__("extra", 1), "unknown keys"),
    ],
)
def test_malformed_rejected(mutate, match):
    obj = json.loads(make_result().to_bytes())
    mutate(obj)
    with pytest.raises(RoundResultError, match=match):
        RoundResult.from_bytes(json.dumps(obj).encode(), require_canonical=False)


def test_not_json():
    with pytest.raises(RoundResultError, match="not JSON"):
        RoundResult.from_bytes(b"{nope")
