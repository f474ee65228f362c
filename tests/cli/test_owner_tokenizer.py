"""`project post --tokenizer FILE.json`: stored by CID and named in the spec, or refused first.

Each refusal comes before any money moves: one line, and the owner's balance and the project
count are what they were.
"""

import json
from pathlib import Path

from fedmarket.posted_tokenizer import ids_needed, parse_tokenizer
from tests.cli.conftest import Market, ok, refused
from tests.text_tokenizer import write_topic_tokenizer

OWNER = 1
ARCH = '{"width": 16, "heads": 2, "layers": 1, "vocab_size": %d}'


def _validation(tmp_path: Path) -> Path:
    path = tmp_path / "val.jsonl"
    sentences = ("won the match", "sunshine fog", "trained hard")
    path.write_text("".join(json.dumps({"text": sentences[i % 3], "label": i % 3}) + "\n"
                            for i in range(12)))
    return path


def _post(market: Market, tmp_path: Path, *extra: str) -> list[str]:
    return ["project", "post", "--budget", "1", "--rounds", "1", "--model", "transformer",
            "--validation", str(_validation(tmp_path)), "--max-len", "16",
            "--data-dir", market.data_dir, *extra]


def _state(market: Market) -> tuple[int, int]:
    return market.contracts(OWNER).market.project_count(), market.balance(OWNER)


def test_a_posted_tokenizer_is_stored_by_cid_and_named_in_the_spec(
        market: Market, tmp_path: Path) -> None:
    path = write_topic_tokenizer(tmp_path / "tok.json")

    report = ok(*_post(market, tmp_path, "--tokenizer", str(path), "--arch", ARCH % 100))
    shown = ok("project", "show", str(report["project"]), "--data-dir", market.data_dir)

    assert report["tokenizer"]["kind"] == "json"
    assert shown["task"]["tokenizer"] == report["tokenizer"]
    assert (report["input_kind"], report["input_shape"]) == ("tokens", [16])


def test_a_tokenizer_too_large_for_the_vocabulary_is_refused_naming_both_numbers(
        market: Market, tmp_path: Path) -> None:
    path = write_topic_tokenizer(tmp_path / "tok.json")
    need = ids_needed(parse_tokenizer(path.read_bytes(), "test"))
    before = _state(market)

    message = refused(*_post(market, tmp_path, "--tokenizer", str(path), "--arch", ARCH % 20))

    assert f"has a vocabulary of {need} ids but the transformer's arch.vocab_size is 20" \
        in message
    assert _state(market) == before


def test_a_file_that_is_not_a_tokenizer_is_refused(market: Market, tmp_path: Path) -> None:
    path = tmp_path / "tok.json"
    path.write_text('{"vocab": {"a": 0}}')
    before = _state(market)

    message = refused(*_post(market, tmp_path, "--tokenizer", str(path), "--arch", ARCH % 100))

    assert "is not a tokenizers JSON file" in message
    assert _state(market) == before


def test_a_tokenizer_for_a_feature_model_is_refused(market: Market, tmp_path: Path) -> None:
    path = write_topic_tokenizer(tmp_path / "tok.json")
    before = _state(market)

    message = refused("project", "post", "--budget", "1", "--tokenizer", str(path),
                      "--data-dir", market.data_dir)

    assert "applies to text projects (--model transformer), not to a mlp" in message
    assert _state(market) == before
