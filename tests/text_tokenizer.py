"""A tokenizer trained offline in the tests: word-level over the text example's topic corpus.

Trained with the `tokenizers` library itself (nothing downloaded), with ``[PAD]`` first so id 0
is the pad token, and a ``[CLS] $A [SEP]`` post-processor so position 0 is always ``[CLS]``.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

from fedmarket.examples import generate

SPECIALS = ["[PAD]", "[CLS]", "[SEP]", "[UNK]"]


def train_topic_tokenizer(extra_words: int = 0, specials: list[str] | None = None) -> Tokenizer:
    """A WordLevel tokenizer of the topic sentences (plus ``extra_words`` made-up words)."""
    texts, _ = generate.topics(n=600, seed=0)
    texts = texts + [f"word{i}" for i in range(extra_words)]
    specials = specials or SPECIALS
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=specials))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    if cls is not None and sep is not None:
        tokenizer.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return tokenizer


def write_topic_tokenizer(path: Path, extra_words: int = 0) -> Path:
    """Write :func:`train_topic_tokenizer` as the JSON file an owner posts."""
    path.write_text(train_topic_tokenizer(extra_words).to_str())
    return path
