"""Text files are read with named fields and tokenized by the built-in byte tokenizer."""

import json
from pathlib import Path

import numpy as np
import pytest

from fedmarket.datasets import DataOptions, load_data
from fedmarket.errors import DataError
from fedmarket.text_data import load_text
from fedmarket.tokenizer import BYTE_OFFSET, CLS, EOS, PAD, encode_text


def jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_short_text_is_cls_bytes_eos_then_padding() -> None:
    ids = encode_text("hi", 6)

    assert ids.tolist() == [CLS, ord("h") + BYTE_OFFSET, ord("i") + BYTE_OFFSET, EOS, PAD, PAD]


def test_long_text_is_cut_keeping_cls_first() -> None:
    ids = encode_text("abcdef", 4)

    assert ids.tolist() == [CLS, *(ord(c) + BYTE_OFFSET for c in "abc")]


def test_non_ascii_text_encodes_as_its_utf8_bytes() -> None:
    ids = encode_text("é", 5)

    assert ids.tolist() == [CLS, 0xC3 + BYTE_OFFSET, 0xA9 + BYTE_OFFSET, EOS, PAD]


def test_jsonl_is_read_and_tokenized(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "t.jsonl", [{"text": "good", "label": 1}, {"text": "bad", "label": 0}])

    data = load_data(path, DataOptions(max_len=8))

    assert data.x.shape == (2, 8) and data.x.dtype == np.float32
    assert data.y.tolist() == [1, 0]
    assert np.array_equal(data.x[1], encode_text("bad", 8))


def test_csv_text_with_named_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('review,stars\n"fine, really",2\nmeh,0\n')

    data = load_data(path, DataOptions(max_len=16, text_column="review", label_column="stars"))

    assert data.y.tolist() == [2, 0]
    assert np.array_equal(data.x[0], encode_text("fine, really", 16))


def test_missing_field_names_the_line_and_the_options(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "t.jsonl", [{"body": "x", "label": 0}])

    with pytest.raises(DataError, match=r"t.jsonl:1 has no field 'text' \(fields: \['body', "
                                        r"'label'\]\); name the text and label fields"):
        load_text(path, 8)


def test_label_names_are_refused(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "t.jsonl", [{"text": "x", "label": "positive"}])

    with pytest.raises(DataError, match="label 'positive' must be a class id"):
        load_text(path, 8)


def test_jsonl_without_a_text_task_is_refused(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "t.jsonl", [{"text": "x", "label": 0}])

    with pytest.raises(DataError, match="holds text, which only a token model reads"):
        load_data(path)


def test_numeric_csv_label_column_by_name_through_options(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("y,a,b,c\n1,0.5,1.5,2.5\n0,3,4,5\n")

    data = load_data(path, DataOptions(label_column="y"))

    assert data.x.shape == (2, 3) and data.y.tolist() == [1, 0]


def test_numeric_csv_label_column_by_index_string(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("1,0.5,1.5\n0,3,4\n")

    data = load_data(path, DataOptions(label_column="0"))

    assert data.x.tolist() == [[0.5, 1.5], [3.0, 4.0]] and data.y.tolist() == [1, 0]
