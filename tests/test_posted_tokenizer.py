"""The posted tokenizer: loaded by CID from the real store, checked, encoding to a fixed length."""

import json
from pathlib import Path

import numpy as np
import pytest

from fedmarket.architectures import TransformerArch
from fedmarket.data_fit import read_options
from fedmarket.datasets import DataOptions, load_data
from fedmarket.errors import ConfigError, StorageError
from fedmarket.examples import get_example
from fedmarket.modelspec import ModelSpec
from fedmarket.posted_tokenizer import (
    PAD_ID,
    check_tokenizer,
    encode_with,
    ids_needed,
    parse_tokenizer,
)
from fedmarket.protocol import load_spec
from fedmarket.storage.local import LocalStore
from fedmarket.tokenizer_spec import PostedTokenizer
from tests.text_tokenizer import train_topic_tokenizer

# The text example's byte-tokenizer spec as every earlier version of the market hashed it.
BYTES_TEXT_SPEC_HASH = "0xf8e05565fb43a65feb831298712663801a3c1852a0411fc9aa29bda29b5d4077"


def _spec(cid: str, vocab_size: int = 259, length: int = 12) -> ModelSpec:
    return ModelSpec(model="transformer", input_shape=(length,), num_classes=3,
                     arch=TransformerArch(vocab_size=vocab_size, width=16, heads=2, layers=1,
                                          ff_width=32),
                     tokenizer=PostedTokenizer(cid))


def test_encoding_truncates_and_pads_with_id_zero() -> None:
    tokenizer = train_topic_tokenizer()
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")

    ids = encode_with(tokenizer, ["sunshine fog", "fog " * 40, ""], 8)

    assert ids.shape == (3, 8) and ids.dtype == np.int64
    assert list(ids[0][:4]) == [cls, tokenizer.token_to_id("sunshine"),
                                tokenizer.token_to_id("fog"), sep]
    assert list(ids[0][4:]) == [PAD_ID] * 4
    assert ids[1][0] == cls and ids[1][-1] == sep and PAD_ID not in ids[1]  # cut to fit
    assert list(ids[2]) == [cls, sep] + [PAD_ID] * 6


def test_encoding_ignores_the_file_own_padding_and_is_repeatable() -> None:
    tokenizer = train_topic_tokenizer()
    tokenizer.enable_padding(length=50, pad_id=0, pad_token="[PAD]")
    copy = parse_tokenizer(tokenizer.to_str().encode(), "copy")

    first = encode_with(copy, ["won the match", "fog"], 6)

    assert first.shape == (2, 6)
    np.testing.assert_array_equal(first, encode_with(copy, ["won the match", "fog"], 6))


def test_a_vocabulary_too_large_for_the_model_is_refused_naming_both_numbers() -> None:
    tokenizer = train_topic_tokenizer(extra_words=300)
    need = ids_needed(tokenizer)
    assert need > 259

    with pytest.raises(ConfigError) as raised:
        check_tokenizer(tokenizer, 259, "big.json")

    message = str(raised.value)
    assert f"vocabulary of {need} ids" in message and "arch.vocab_size is 259" in message
    assert "\n" not in message


@pytest.mark.parametrize("specials", [["[CLS]", "[SEP]", "[UNK]", "[PAD]"], ["[UNK]"]])
def test_a_tokenizer_whose_id_zero_is_not_its_pad_is_refused(specials: list[str]) -> None:
    tokenizer = train_topic_tokenizer(specials=specials)  # id 0: [CLS], or [UNK]

    with pytest.raises(ConfigError, match="not a pad token; the market pads with id 0"):
        check_tokenizer(tokenizer, 259, "t.json")


def test_a_file_that_is_not_a_tokenizer_is_refused() -> None:
    with pytest.raises(ConfigError, match="not a tokenizers JSON file"):
        parse_tokenizer(b'{"vocab": ["a", "b"]}', "v.json")


def test_a_posted_tokenizer_spec_round_trips_and_its_cid_is_in_the_hash() -> None:
    spec = _spec("bafyone")

    again = ModelSpec.from_json(spec.to_json())

    assert again == spec and json.loads(spec.to_json())["tokenizer"] == {"kind": "json",
                                                                         "cid": "bafyone"}
    assert spec.hash() != _spec("bafytwo").hash()


def test_a_posted_tokenizer_of_unknown_kind_is_refused() -> None:
    data = json.loads(_spec("bafyone").to_json())
    data["tokenizer"] = {"kind": "sentencepiece", "cid": "bafyone"}

    with pytest.raises(ConfigError, match="tokenizer.kind 'sentencepiece' is unknown"):
        ModelSpec.from_dict(data)


def test_the_byte_tokenizer_spec_keeps_its_json_and_hash() -> None:
    example = get_example("text")

    spec = ModelSpec(model="transformer", input_shape=example.input_shape, num_classes=3,
                     arch=example.arch)

    assert json.loads(spec.to_json())["tokenizer"] == "bytes"
    assert spec.hash() == BYTES_TEXT_SPEC_HASH
    assert read_options(spec).encoder is not None  # the byte encoder, nothing to load


def test_load_spec_fetches_the_tokenizer_by_cid_and_trainers_encode_with_it(
        tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store", fsync=False)
    tokenizer = train_topic_tokenizer(extra_words=7)  # content unique to this test
    cid = store.put(tokenizer.to_str().encode())
    spec_cid = store.put(_spec(cid).to_bytes())
    texts = tmp_path / "t.jsonl"
    texts.write_text('{"text": "won the match", "label": 0}\n{"text": "fog", "label": 2}\n')

    spec = load_spec(store, spec_cid)
    data = load_data(texts, read_options(spec))

    np.testing.assert_array_equal(
        data.x, encode_with(tokenizer, ["won the match", "fog"], 12).astype(np.float32))


def test_load_spec_refuses_a_tokenizer_cid_the_store_lacks(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store", fsync=False)
    elsewhere = LocalStore(tmp_path / "elsewhere", fsync=False)
    missing = elsewhere.put(train_topic_tokenizer(extra_words=11).to_str().encode())
    spec_cid = store.put(_spec(missing).to_bytes())

    with pytest.raises(StorageError, match=f"cannot fetch the project's tokenizer {missing}"):
        load_spec(store, spec_cid)


def test_load_spec_refuses_a_cid_that_names_something_else(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store", fsync=False)
    other = store.put(b"\x93NUMPY not a tokenizer")
    spec_cid = store.put(_spec(other).to_bytes())

    with pytest.raises(ConfigError, match="not a tokenizers JSON file"):
        load_spec(store, spec_cid)


def test_load_spec_refuses_a_tokenizer_too_large_for_the_spec_arch(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store", fsync=False)
    tokenizer = train_topic_tokenizer(extra_words=13)
    cid = store.put(tokenizer.to_str().encode())
    spec_cid = store.put(_spec(cid, vocab_size=20).to_bytes())

    with pytest.raises(ConfigError, match="arch.vocab_size is 20"):
        load_spec(store, spec_cid)


def test_text_files_read_without_an_encoder_use_the_byte_tokenizer(tmp_path: Path) -> None:
    texts = tmp_path / "t.jsonl"
    texts.write_text('{"text": "ab", "label": 0}\n')

    data = load_data(texts, DataOptions(max_len=5))

    assert list(data.x[0]) == [1, ord("a") + 3, ord("b") + 3, 2, 0]
