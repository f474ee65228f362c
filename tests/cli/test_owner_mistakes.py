"""An owner's mistakes are refused with one sentence before any money moves.

Each refusal is checked on a real node started by `chain up`: the command exits 1 with one line,
and the owner's balance and the project count are exactly what they were (no transaction).
"""

from pathlib import Path

import numpy as np
import pytest

from tests.cli.conftest import Market, ok, refused

OWNER = 1


def _post(market: Market, *extra: str) -> list[str]:
    return ["project", "post", "--budget", "1", "--rounds", "1", "--data-dir", market.data_dir,
            *extra]


def _assert_nothing_moved(market: Market, before: tuple[int, int]) -> None:
    assert (market.contracts(OWNER).market.project_count(), market.balance(OWNER)) == before


def _state(market: Market) -> tuple[int, int]:
    return market.contracts(OWNER).market.project_count(), market.balance(OWNER)


def test_validation_data_with_30_features_for_a_64_input_model_is_refused(
        market: Market, tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    path = tmp_path / "validation.npz"
    np.savez(path, x=rng.random((200, 30), dtype=np.float32), y=rng.integers(0, 10, 200))
    before = _state(market)

    message = refused(*_post(market, "--validation", str(path), "--input-shape", "64"))

    assert "30 features" in message and "expects 64" in message
    _assert_nothing_moved(market, before)


def test_validation_labels_beyond_the_model_classes_are_refused(
        market: Market, tmp_path: Path) -> None:
    path = tmp_path / "labels.npz"
    np.savez(path, x=np.zeros((20, 64), dtype=np.float32), y=np.arange(20))
    before = _state(market)

    message = refused(*_post(market, "--validation", str(path), "--classes", "10"))

    assert "label 19" in message and "10 classes" in message
    _assert_nothing_moved(market, before)


def test_rgb_images_for_a_grayscale_cnn_are_refused_not_converted(
        market: Market, tmp_path: Path) -> None:
    path = tmp_path / "rgb.npz"
    rng = np.random.default_rng(5)
    np.savez(path, x=rng.random((20, 3, 8, 8), dtype=np.float32), y=rng.integers(0, 2, 20))
    before = _state(market)

    message = refused(*_post(market, "--validation", str(path), "--model", "cnn",
                             "--input-shape", "1,8,8"))

    assert "images are 3x8x8 but the model expects 1x8x8" in message
    _assert_nothing_moved(market, before)


def test_flat_samples_for_a_cnn_without_a_declared_shape_are_refused(
        market: Market, tmp_path: Path) -> None:
    path = tmp_path / "flat.csv"
    path.write_text("".join(f"{i % 7},{i % 5},{i % 3},{i % 2}\n" for i in range(20)))
    before = _state(market)

    message = refused(*_post(market, "--model", "cnn", "--validation", str(path)))

    assert "a cnn reads C x H x W images but the samples are 3" in message
    assert "--input-shape C,H,W" in message
    _assert_nothing_moved(market, before)


def test_no_validation_and_no_declared_task_is_refused(market: Market) -> None:
    before = _state(market)

    message = refused(*_post(market, "--validation", "none", "--rule", "multi_krum",
                             "--input-shape", "30"))

    assert "without validation data to infer them from, give --classes" in message
    _assert_nothing_moved(market, before)


@pytest.mark.parametrize(("extra", "expected"), [
    (["--arch", "{hidden: 3}"], "--arch must be a JSON object"),
    (["--arch", '{"depth": 3}'], "arch of a mlp has unknown field(s) ['depth']"),
    (["--model", "transformer", "--arch", '{"heads": 3}'],
     "arch.width 64 must be a multiple of arch.heads 3"),
    (["--hidden", "8", "--arch", '{"hidden": [8]}'], "in --hidden or in --arch, not both"),
    (["--model", "resnet"], "unknown model 'resnet'; choose one of mlp, cnn, transformer"),
    (["--input-kind", "tokens"], "a mlp cannot read tokens inputs"),
])
def test_bad_architecture_options_are_refused(market: Market, extra: list[str],
                                              expected: str) -> None:
    before = _state(market)

    message = refused(*_post(market, *extra))

    assert expected in message
    _assert_nothing_moved(market, before)


def test_the_builtin_digits_are_read_as_8x8_images_by_a_cnn(market: Market) -> None:
    report = ok(*_post(market, "--model", "cnn", "--hidden", "4"))

    assert (report["input_kind"], report["input_shape"], report["num_classes"]) == (
        "image", [1, 8, 8], 10)
    assert (report["rule"], report["rule_params"]) == ("trusted", {})  # no scan for images


def test_a_default_digits_project_gets_the_trigger_scan_and_can_turn_it_off(
        market: Market) -> None:
    scanned = ok(*_post(market))
    plain = ok(*_post(market, "--rule-params", "{}"))

    assert (scanned["rule"], scanned["rule_params"]) == ("trusted", {"shortcut_bar": 0.5})
    assert (plain["rule"], plain["rule_params"]) == ("trusted", {})


def test_task_is_inferred_from_the_validation_data(market: Market, tmp_path: Path) -> None:
    path = tmp_path / "tabular.npz"
    rng = np.random.default_rng(8)
    np.savez(path, x=rng.random((40, 30), dtype=np.float32), y=rng.integers(0, 2, 40))

    report = ok(*_post(market, "--validation", str(path)))

    assert (report["input_kind"], report["input_shape"], report["num_classes"]) == (
        "features", [30], 2)
    assert report["num_params"] == 30 * 64 + 64 + 64 * 2 + 2
    assert report["rule_params"] == {}  # two classes: the scan stays off
    shown = ok("project", "show", str(report["project"]), "--data-dir", market.data_dir)
    assert shown["task"]["input_shape"] == [30] and shown["task"]["spec_version"] == 2
    assert shown["task"]["arch"] == {"hidden": [64], "activation": "relu", "dropout": 0.0}


def test_random_bytes_as_validation_npz_are_refused_without_pickle_advice(
        market: Market, tmp_path: Path) -> None:
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(3).bytes(4096))
    before = _state(market)

    message = refused(*_post(market, "--validation", str(path)))

    assert "is not an .npz archive" in message and "pickle" not in message
    _assert_nothing_moved(market, before)


@pytest.mark.parametrize(("params", "expected"), [
    ('{"f": -3}', "f must be an integer >= 0, got -3"),
    ('{"g": 1}', "has no parameter 'g' (it takes: f, m)"),
    ('{"f": "two"}', "f must be an integer >= 0, got 'two'"),
    ('{"f": 1.5}', "f must be an integer >= 0, got 1.5"),
    ('{"f": 40}', "needs at least 83 updates per round but at most 64 trainers may join"),
    ('{"f": 2, "m": 70}', "keeping m=70 updates needs at least 70 trainers but at most 64"),
    ('[1, 2]', "--rule-params must be a JSON object"),
])
def test_invalid_rule_parameters_are_refused_before_escrow(
        market: Market, params: str, expected: str) -> None:
    before = _state(market)

    # Multi-Krum's parameters (the default rule, trusted, takes no f).
    message = refused(*_post(market, "--rule", "multi_krum", "--rule-params", params))

    assert expected in message
    _assert_nothing_moved(market, before)


def test_more_minimum_than_maximum_trainers_is_a_sentence_not_a_contract_error(
        market: Market) -> None:
    before = _state(market)

    message = refused(*_post(market, "--rule", "fedavg", "--rule-params", "{}",
                             "--min-trainers", "70", "--max-trainers", "8"))

    assert "minimum of 70 trainers is above the maximum of 8" in message
    assert "FedMarket" not in message
    _assert_nothing_moved(market, before)


@pytest.mark.parametrize(("address", "expected"), [
    ("0xbad", "is not an Ethereum address"),
    ("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc".replace("C4", "c4"), "EIP-55 checksum"),
    ("0x" + "0" * 40, "zero address"),
    ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "the owner's own account"),
])
def test_bad_aggregator_addresses_are_refused_in_one_line(
        market: Market, address: str, expected: str) -> None:
    before = _state(market)

    message = refused(*_post(market, "--min-trainers", "7", "--aggregator", address))

    assert expected in message
    _assert_nothing_moved(market, before)


def test_an_all_lowercase_aggregator_address_is_accepted_and_checksummed(market: Market) -> None:
    lower = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"  # dev account 2, no checksum

    posted = ok(*_post(market, "--min-trainers", "7", "--aggregator", lower))

    params = market.contracts(OWNER).market.project(posted["project"]).params
    assert params.aggregator == "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


@pytest.mark.parametrize(("budget", "expected"), [
    ("1e400", "is too large"),
    ("nan", "must be a finite number"),
    ("inf", "must be a finite number"),
    ("-5", "must not be negative"),
    ("1e-19", "more than 18 decimals"),
    ("0", "the budget must be positive"),
    ("ten", "is not a number of ether"),
])
def test_budgets_that_are_no_amount_of_ether_are_refused(
        market: Market, budget: str, expected: str) -> None:
    before = _state(market)

    message = refused("project", "post", "--budget", budget, "--data-dir", market.data_dir)

    assert expected in message
    _assert_nothing_moved(market, before)


def test_a_created_project_cannot_finish_but_cancelling_returns_its_escrow(market: Market) -> None:
    project = str(ok(*_post(market, "--min-trainers", "7", "--budget", "2"))["project"])

    message = refused("project", "finish", project, "--data-dir", market.data_dir)
    cancelled = ok("project", "cancel", project, "--data-dir", market.data_dir)

    assert "has not started" in message and f"fedmarket project cancel {project}" in message
    assert cancelled["withdrawn_wei"] == str(2 * 10**18)  # the last --budget counts


def test_text_task_is_inferred_from_a_jsonl_validation_file(market: Market,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "reviews.jsonl"
    path.write_text("".join(f'{{"text": "review {i}", "label": {i % 3}}}\n' for i in range(30)))

    report = ok(*_post(market, "--validation", str(path), "--model", "transformer",
                       "--max-len", "24", "--arch", '{"width": 16, "heads": 2, "layers": 1}'))

    assert (report["input_kind"], report["input_shape"], report["num_classes"]) == (
        "tokens", [24], 3)


def test_rgb_image_folder_of_any_size_gives_a_cnn_its_shape(market: Market,
                                                            tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(9)
    for label in ("0", "1", "2"):
        (tmp_path / "val" / label).mkdir(parents=True)
        for i in range(4):
            pixels = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)  # H=12, W=20, RGB
            image.fromarray(pixels).save(tmp_path / "val" / label / f"{i}.png")

    report = ok(*_post(market, "--validation", str(tmp_path / "val"), "--model", "cnn",
                       "--hidden", "4"))

    assert (report["input_kind"], report["input_shape"], report["num_classes"]) == (
        "image", [3, 12, 20], 3)


def test_csv_label_column_named_on_the_command_line(market: Market, tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    rows = [f"{i % 4},{i / 10},{(i * 7) % 3},{i % 2}" for i in range(24)]
    path.write_text("diagnosis,a,b,c\n" + "\n".join(rows) + "\n")

    report = ok(*_post(market, "--validation", str(path), "--label-column", "diagnosis"))

    assert (report["input_shape"], report["num_classes"]) == ([3], 4)
