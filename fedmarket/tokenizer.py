"""The built-in byte-level tokenizer: text to fixed-length token ids, nothing to download.

Every UTF-8 byte is one token (id = byte + 3) after the specials ``PAD = 0``, ``CLS = 1`` and
``EOS = 2``: a sequence is ``CLS``, the text's bytes, ``EOS``, then ``PAD`` up to ``max_len``;
longer texts are cut (the cut keeps ``CLS`` first, so the classifier's pooling token is always
there). Any language and any character encodes, no vocabulary file exists to get out of sync
between trainers, and the ids fit float32 exactly (the codec and datasets carry float32).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["PAD", "CLS", "EOS", "BYTE_OFFSET", "BYTE_VOCAB_SIZE", "encode_texts", "encode_text"]

PAD, CLS, EOS = 0, 1, 2
BYTE_OFFSET = 3
BYTE_VOCAB_SIZE = 256 + BYTE_OFFSET


def encode_text(text: str, max_len: int) -> np.ndarray:
    """``[max_len]`` int64 ids of one text: CLS, bytes (cut to fit), EOS if room, PAD."""
    if max_len < 2:
        raise ValueError(f"max_len must be at least 2 (CLS and one token), got {max_len}")
    body = np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64) + BYTE_OFFSET
    ids = np.full(max_len, PAD, dtype=np.int64)
    ids[0] = CLS
    room = max_len - 1
    if len(body) < room:
        ids[1:1 + len(body)] = body
        ids[1 + len(body)] = EOS
    else:
        ids[1:] = body[:room]
    return ids


def encode_texts(texts: Iterable[str], max_len: int) -> np.ndarray:
    """``[N, max_len]`` int64 ids of many texts (see :func:`encode_text`)."""
    rows = [encode_text(text, max_len) for text in texts]
    return np.stack(rows) if rows else np.zeros((0, max_len), dtype=np.int64)
