"""Text classification data: CSV or JSON Lines with a text and a label field, tokenized here.

Each sample is one text and an integer class id. A ``.jsonl`` file holds one JSON object per
line (``{"text": "...", "label": 1}``); a ``.csv`` file has a header row naming its columns.
Field names default to ``text`` and ``label`` and can be named. Texts become fixed-length
token-id sequences with the built-in byte tokenizer (:mod:`fedmarket.tokenizer`) or the
project's posted tokenizer file (an ``encoder``:
:func:`fedmarket.posted_tokenizer.text_encoder`), so nothing is fetched at run time and every
trainer tokenizes exactly alike. Labels must be integers (or strings of digits): names would
be numbered by what each trainer happens to hold, and two trainers would then mean different
classes by the same id.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fedmarket.datasets import Dataset
from fedmarket.errors import DataError
from fedmarket.tokenizer import encode_texts

__all__ = ["load_text", "TEXT_SUFFIXES", "DEFAULT_TEXT_COLUMN", "DEFAULT_TEXT_LABEL"]

TEXT_SUFFIXES = (".jsonl", ".csv")
DEFAULT_TEXT_COLUMN = "text"
DEFAULT_TEXT_LABEL = "label"


def load_text(path: str | Path, max_len: int, *, text_column: str | None = None,
              label_column: str | None = None,
              encoder: Callable[[Sequence[str], int], np.ndarray] | None = None) -> Dataset:
    """Read texts and labels from ``.jsonl`` or ``.csv`` and tokenize them to ``max_len`` ids.

    ``encoder`` None: the built-in byte tokenizer.
    """
    path = Path(path)
    text_key = text_column or DEFAULT_TEXT_COLUMN
    label_key = label_column or DEFAULT_TEXT_LABEL
    if not path.is_file():
        raise DataError(f"text file '{path}' does not exist")
    try:
        if path.suffix.lower() == ".jsonl":
            rows = _jsonl_rows(path)
        elif path.suffix.lower() == ".csv":
            rows = _csv_rows(path)
        else:
            raise DataError(f"text file '{path}' must be a .jsonl or a .csv")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read text file '{path}': {exc}") from exc
    if not rows:
        raise DataError(f"text file '{path}' holds no samples")
    texts: list[str] = []
    labels: list[int] = []
    for number, row in rows:
        for key in (text_key, label_key):
            if key not in row:
                raise DataError(f"{path}:{number} has no field {key!r} (fields: {sorted(row)}); "
                                "name the text and label fields with --text-column and "
                                "--label-column")
        if not isinstance(row[text_key], str):
            raise DataError(f"{path}:{number}: field {text_key!r} must be text, "
                            f"got {row[text_key]!r}")
        texts.append(row[text_key])
        labels.append(_label(path, number, row[label_key]))
    ids = (encoder or encode_texts)(texts, max_len).astype(np.float32)  # exact: ids < 2**24
    return Dataset(ids, np.asarray(labels, dtype=np.int64), str(path))


def _jsonl_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number} is not a JSON object: {exc}") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{number} is not a JSON object")
            rows.append((number, row))
    return rows


def _csv_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return [(number, dict(row)) for number, row in enumerate(reader, 2)]


def _label(path: Path, number: int, value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise DataError(f"{path}:{number}: label {value!r} must be a class id 0..C-1 (an integer)")
