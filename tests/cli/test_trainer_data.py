"""`trainer run` reads its data as the project's spec says and refuses what does not fit.

Each refusal comes before the first round: one line, no commitment, no stake moved.
"""

import json
from pathlib import Path

import numpy as np

from tests.cli.conftest import Market, ok, refused


def _post(market: Market, *extra: str) -> str:
    posted = ok("project", "post", "--budget", "1", "--rounds", "1", "--rule", "fedavg",
                "--rule-params", "{}", "--min-trainers", "1", "--max-trainers", "4",
                "--data-dir", market.data_dir, *extra)
    return str(posted["project"])


def _join(market: Market, account: int, project: str) -> None:
    ok("trainer", "register", "--stake", "0.1", "--account", str(account),
       "--data-dir", market.data_dir)
    ok("trainer", "join", project, "--account", str(account), "--data-dir", market.data_dir)


def _run(market: Market, project: str, account: int, data: Path, *extra: str) -> str:
    return refused("trainer", "run", project, "--data", str(data), "--account", str(account),
                   "--timeout", "30", "--data-dir", market.data_dir, *extra)


def test_rgb_images_for_a_digits_project_are_refused_before_any_round(
        market: Market, tmp_path: Path) -> None:
    project = _post(market)  # digits: 64 features, 10 classes
    _join(market, 10, project)
    path = tmp_path / "rgb.npz"
    np.savez(path, x=np.zeros((8, 3, 8, 8), dtype=np.float32), y=np.zeros(8, dtype=np.int64))
    stake = market.contracts(10).registry.stake_of(0)

    message = _run(market, project, 10, path)

    assert "samples have 192 features (3x8x8) but the model expects 64" in message
    assert market.contracts(10).registry.stake_of(0) == stake


def test_text_for_a_feature_project_is_refused(market: Market, tmp_path: Path) -> None:
    project = _post(market)
    _join(market, 11, project)
    path = tmp_path / "notes.jsonl"
    path.write_text(json.dumps({"text": "hello", "label": 0}) + "\n")

    message = _run(market, project, 11, path)

    assert "holds text, which only a token model reads" in message


def test_a_text_trainer_reads_its_named_fields_with_the_projects_length(
        market: Market, tmp_path: Path) -> None:
    validation = tmp_path / "val.jsonl"
    validation.write_text("".join(json.dumps({"text": f"s{i}", "label": i % 2}) + "\n"
                                  for i in range(10)))
    project = _post(market, "--model", "transformer", "--validation", str(validation),
                     "--max-len", "16", "--arch", '{"width": 16, "heads": 2, "layers": 1}')
    _join(market, 12, project)
    mine = tmp_path / "mine.csv"
    mine.write_text("body,topic\nhello there,1\nsee you,5\n")

    message = _run(market, project, 12, mine, "--text-column", "body", "--label-column",
                   "topic")

    # Read as text through the named fields; label 5 is then outside the project's 2 classes.
    assert "mine.csv: label 5 is out of range for the model's 2 classes" in message
