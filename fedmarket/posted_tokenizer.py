"""A tokenizer the owner posts by CID: a Hugging Face ``tokenizers`` JSON file, checked and kept.

The file is read with ``tokenizers.Tokenizer.from_str`` only — never ``from_pretrained`` or any
other call that can reach a model hub — from bytes the content store hash-checked against the
CID the spec names. Every role loads it through :func:`fedmarket.protocol.load_spec`, which
calls :func:`load_posted_tokenizer`; the checked tokenizer is then kept under its CID for
:func:`text_encoder`, which is how a trainer's (or the owner's) text files are tokenized.

Encoding is deterministic and fixed by the market, not by the file: the file's own padding
and truncation settings are replaced by ``max_len`` (the spec's sequence length) — truncation
keeps the first tokens, the file's post-processor adds its special tokens (e.g. ``[CLS] $A
[SEP]``) within that length, and sequences are padded on the right with id ``0``
(:data:`PAD_ID`). The transformer masks id 0 as padding (:mod:`fedmarket.transformer`), so a
posted tokenizer must reserve id 0 for its pad token: a special token whose text contains
``pad`` (``[PAD]``, ``<pad>``: first in the trainer's ``special_tokens``), or the pad token the
file's padding settings name with id 0. Every id it can produce must be below the
transformer's ``arch.vocab_size``. Both are refused in one line otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fedmarket.architectures import TransformerArch
from fedmarket.errors import ConfigError, StorageError
from fedmarket.tokenizer import PAD, encode_texts
from fedmarket.tokenizer_spec import PostedTokenizer

if TYPE_CHECKING:  # the library is imported only where a posted tokenizer is used
    from tokenizers import Tokenizer

    from fedmarket.modelspec import ModelSpec
    from fedmarket.storage.base import ContentStore

__all__ = ["PAD_ID", "MAX_TOKENIZER_BYTES", "TextEncoder", "parse_tokenizer", "read_tokenizer",
           "ids_needed", "check_tokenizer", "register_tokenizer", "load_posted_tokenizer",
           "text_encoder", "encode_with", "unload_tokenizers"]

PAD_ID = PAD  # one pad id for every tokenizer: the id the transformer masks
# Real vocabularies of 30-250k tokens are a few MB of JSON; this bounds what a role reads.
MAX_TOKENIZER_BYTES = 64 * 2**20

#: ``(texts, max_len) -> [N, max_len] int64 ids``: how a text file becomes samples.
TextEncoder = Callable[[Sequence[str], int], np.ndarray]

_LOADED: dict[str, Tokenizer] = {}  # CID -> checked tokenizer


def parse_tokenizer(data: bytes, source: str) -> Tokenizer:
    """The tokenizer in ``data`` (a ``tokenizers`` JSON file), or one :class:`ConfigError`."""
    from tokenizers import Tokenizer

    if len(data) > MAX_TOKENIZER_BYTES:
        raise ConfigError(f"tokenizer {source}: {len(data)} bytes, more than the "
                          f"{MAX_TOKENIZER_BYTES} a tokenizer file may have")
    try:
        return Tokenizer.from_str(data.decode("utf-8"))
    except Exception as exc:  # the library raises plain Exception; bad UTF-8 a ValueError
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"tokenizer {source} is not a tokenizers JSON file "
                          f"(Tokenizer.from_str: {detail})") from None


def read_tokenizer(path: str | Path) -> tuple[bytes, Tokenizer]:
    """The owner's tokenizer file: its bytes (what is stored) and the parsed tokenizer."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"tokenizer {file}: no such file")
    data = file.read_bytes()
    return data, parse_tokenizer(data, str(file))


def ids_needed(tokenizer: Tokenizer) -> int:
    """How many embedding rows the tokenizer's ids need: its largest id + 1, added tokens too."""
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    return max(vocab.values(), default=-1) + 1


def check_tokenizer(tokenizer: Tokenizer, vocab_size: int, source: str) -> None:
    """Refuse a tokenizer whose ids do not fit ``vocab_size`` or whose id 0 is not a pad."""
    need = ids_needed(tokenizer)
    if need > vocab_size:
        raise ConfigError(f"tokenizer {source} has a vocabulary of {need} ids but the "
                          f"transformer's arch.vocab_size is {vocab_size}: raise "
                          f"arch.vocab_size to at least {need} or post a smaller tokenizer")
    padding = tokenizer.padding
    if padding is not None and padding.get("pad_id", PAD_ID) != PAD_ID:
        raise ConfigError(f"tokenizer {source} pads with id {padding['pad_id']}; the market "
                          f"pads with id {PAD_ID}, so its pad token must be id {PAD_ID}")
    zero = tokenizer.get_added_tokens_decoder().get(PAD_ID)
    is_pad = zero is not None and zero.special and (
        "pad" in zero.content.lower() or padding is not None)
    if not is_pad:
        raise ConfigError(f"tokenizer {source}: id {PAD_ID} is "
                          f"{tokenizer.id_to_token(PAD_ID)!r}, not a pad token; the market "
                          f"pads with id {PAD_ID} (masked by the transformer), so make the pad "
                          "token (e.g. [PAD]) the first special token")


def register_tokenizer(cid: str, tokenizer: Tokenizer) -> None:
    """Keep a checked tokenizer under its CID for :func:`text_encoder`."""
    _LOADED[cid] = tokenizer


def unload_tokenizers() -> None:
    """Forget every kept tokenizer: the next :func:`load_posted_tokenizer` fetches it again.

    For a process that plays several roles (the tests, a demo) and must show each role
    fetching the file by CID rather than finding the owner's copy.
    """
    _LOADED.clear()


def load_posted_tokenizer(store: ContentStore, spec: ModelSpec) -> None:
    """Fetch (hash-checked by the store), parse, check and keep a spec's posted tokenizer."""
    posted = spec.tokenizer
    assert isinstance(posted, PostedTokenizer)
    if posted.cid in _LOADED:
        tokenizer = _LOADED[posted.cid]
    else:
        try:
            data = store.get(posted.cid)
        except StorageError as exc:
            raise StorageError(f"cannot fetch the project's tokenizer {posted.cid}: "
                               f"{str(exc).splitlines()[0]}") from exc
        tokenizer = parse_tokenizer(data, posted.cid)
    # Checked for each spec, not once per CID: another spec may name the file for a smaller arch.
    assert isinstance(spec.arch, TransformerArch)  # token inputs are read by a transformer
    check_tokenizer(tokenizer, spec.arch.vocab_size, posted.cid)
    register_tokenizer(posted.cid, tokenizer)


def encode_with(tokenizer: Tokenizer, texts: Sequence[str], max_len: int) -> np.ndarray:
    """``[N, max_len]`` int64 ids: truncated to ``max_len``, padded with :data:`PAD_ID`."""
    if max_len < 2:
        raise ValueError(f"max_len must be at least 2, got {max_len}")
    # Settings are the market's, set on every call: the file's own are never used.
    tokenizer.enable_truncation(max_length=max_len, strategy="longest_first",
                                direction="right")
    pad_token = tokenizer.id_to_token(PAD_ID) or ""
    tokenizer.enable_padding(direction="right", pad_id=PAD_ID, pad_token=pad_token,
                             length=max_len)
    if not texts:
        return np.zeros((0, max_len), dtype=np.int64)
    rows = [encoding.ids for encoding in tokenizer.encode_batch(list(texts))]
    return np.asarray(rows, dtype=np.int64)


def text_encoder(spec: ModelSpec) -> TextEncoder:
    """How ``spec``'s texts become ids: the byte tokenizer, or its posted file (loaded first)."""
    posted = spec.tokenizer
    if not isinstance(posted, PostedTokenizer):
        return encode_texts
    tokenizer = _LOADED.get(posted.cid)
    if tokenizer is None:
        raise ConfigError(f"the project's tokenizer {posted.cid} is not loaded: load the spec "
                          "with fedmarket.protocol.load_spec (it fetches it from the store)")

    def encode(texts: Sequence[str], max_len: int) -> np.ndarray:
        return encode_with(tokenizer, texts, max_len)

    return encode
