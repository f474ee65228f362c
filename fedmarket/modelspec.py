"""The project's model spec: the task, which model, how trainers train it, how rounds aggregate.

A :class:`ModelSpec` is posted by the project owner as canonical JSON (sorted keys, no
whitespace) in the content store; trainer, aggregator and verifier all read it, so it lives in
the core. It states the task (input shape, input kind, number of classes, tokenizer), names a
model from the trainer's registry with its declarative arch (no code is ever downloaded), and
gives the local training hyper-parameters, the aggregation rule and the contribution scoring
method. :meth:`ModelSpec.hash` is the keccak-256 of the canonical JSON; every update
and model file carries it in its header so a file made for another spec is refused.

:meth:`ModelSpec.param_shapes` gives the name and shape of every tensor of the model without
building it, so the aggregator and verifier can check updates without importing the trainer;
``fedmarket.models`` builds modules whose ``state_dict`` matches it exactly (a test holds the two
together). With the optional ``lora`` section (:mod:`fedmarket.lora_spec`) those tensors are the
LoRA adapters of a posted base model, whose own shapes are :meth:`ModelSpec.base_shapes`.
The optional ``compression`` section (:mod:`fedmarket.compression_spec`) says in which form
trainers send their updates (int8 or top-k); like ``lora`` it is in the JSON only when set, so
specs posted before it keep their hash. ``tokenizer`` is ``"bytes"`` (built in) or a posted
file ``{"kind": "json", "cid": CID}`` (:mod:`fedmarket.tokenizer_spec`); a bytes spec's JSON is
what it always was.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from eth_utils import keccak

from fedmarket.architectures import (
    Arch,
    TransformerArch,
    arch_from_dict,
    arch_hidden,
    arch_to_dict,
    check_arch,
    default_arch,
    param_shapes,
)
from fedmarket.compression_spec import Compression
from fedmarket.errors import ConfigError
from fedmarket.lora_spec import LoraSpec, adapter_shapes
from fedmarket.spec_checks import (
    Param,
    check_keys,
    finite,
    int_tuple,
    positive_int,
    section,
    string_params,
)
from fedmarket.tokenizer import BYTE_VOCAB_SIZE
from fedmarket.tokenizer_spec import PostedTokenizer, tokenizer_from_json

__all__ = [
    "ModelSpec",
    "TrainingSpec",
    "AggregationSpec",
    "ScoringSpec",
    "MODEL_NAMES",
    "OPTIMIZERS",
    "AGGREGATION_RULES",
    "SCORING_METHODS",
    "SPEC_VERSION",
    "SUPPORTED_VERSIONS",
    "INPUT_KINDS",
    "TOKENIZERS",
]

# 2: the JSON records input_kind, the whole arch and the tokenizer. A v1 reader would refuse
# those fields rather than build a different model; v1 specs still load (SUPPORTED_VERSIONS).
SPEC_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)

# Architectures the trainer's registry builds (fedmarket.models); shapes from architectures.
MODEL_NAMES = ("mlp", "cnn", "transformer")
# How samples are read: float feature vectors, C×H×W images in [0, 1], or token ids.
INPUT_KINDS = ("features", "image", "tokens")
_NATURAL_KIND = {"mlp": "features", "cnn": "image", "transformer": "tokens"}
_MODEL_KINDS = {"mlp": ("features", "image"), "cnn": ("image",), "transformer": ("tokens",)}
# Built-in tokenizers (fedmarket.tokenizer); a posted one is a PostedTokenizer (by CID).
TOKENIZERS = ("bytes",)
OPTIMIZERS = ("sgd", "adam")
# Names the aggregator registers (aggregator.rules / aggregator.contribution). Checked here so an
# owner learns of a typo when posting, not when the first round fails.
AGGREGATION_RULES = (
    "fedavg",
    "krum",
    "multi_krum",
    "median",
    "trimmed_mean",
    "bulyan",
    "centered_clip",
    "norm_bound",
    "foolsgold",
    "fltrust",
    "trusted",
)
# The position is the on-chain scoringMethod id (and the index's): append, never reorder.
SCORING_METHODS = ("gtg_shapley", "leave_one_out", "cosine", "group_shapley")



@dataclass(frozen=True)
class TrainingSpec:
    """Local training hyper-parameters every trainer of the project uses."""

    local_epochs: int = 1  # one pass keeps rounds short and client drift small
    batch_size: int = 32  # small batches train well on the small datasets we target
    lr: float = 0.05  # plain SGD on MLP/CNN over [0, 1]-scaled inputs is stable here
    optimizer: str = "sgd"
    momentum: float = 0.0  # fresh optimizer every round, so momentum buys little
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        # JSON writes 1 and 1.0 differently; store floats so equal specs hash equally.
        for name in ("lr", "momentum", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, name, float(value))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid field."""
        positive_int("training.local_epochs", self.local_epochs)
        positive_int("training.batch_size", self.batch_size)
        finite("training.lr", self.lr, positive=True)
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"training.optimizer {self.optimizer!r} is unknown; choose one of {OPTIMIZERS}"
            )
        finite("training.momentum", self.momentum, minimum=0.0)
        if self.momentum >= 1.0:
            raise ConfigError(f"training.momentum must be < 1, got {self.momentum}")
        finite("training.weight_decay", self.weight_decay, minimum=0.0)


@dataclass(frozen=True)
class AggregationSpec:
    """The robust aggregation rule (``aggregator.rules.get(rule)(**params)``)."""

    rule: str = "fedavg"
    params: Mapping[str, Param] = field(default_factory=dict)

    def __hash__(self) -> int:  # params is a dict; hash its canonical form instead
        return hash((self.rule, json.dumps(dict(self.params), sort_keys=True)))

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid field."""
        if self.rule not in AGGREGATION_RULES:
            raise ConfigError(
                f"aggregation.rule {self.rule!r} is unknown; choose one of {AGGREGATION_RULES}"
            )
        string_params("aggregation.params", self.params)


@dataclass(frozen=True)
class ScoringSpec:
    """How each trainer's contribution is scored (``aggregator.contribution``)."""

    method: str = "cosine"  # needs no validation data, so it works for every project
    params: Mapping[str, Param] = field(default_factory=dict)

    def __hash__(self) -> int:  # params is a dict; hash its canonical form instead
        return hash((self.method, json.dumps(dict(self.params), sort_keys=True)))

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid field."""
        if self.method not in SCORING_METHODS:
            raise ConfigError(
                f"scoring.method {self.method!r} is unknown; choose one of {SCORING_METHODS}"
            )
        string_params("scoring.params", self.params)


@dataclass(frozen=True)
class ModelSpec:
    """A project's task, model, training, aggregation and scoring settings.

    The task: ``input_shape`` excludes the batch (``(30,)`` for 30 tabular features,
    ``(3, 16, 16)`` for RGB images, ``(64,)`` for sequences of 64 token ids); ``input_kind``
    says how samples are read (``features``, ``image`` C×H×W, or ``tokens``) and defaults to the
    model's natural kind; ``num_classes`` is the number of labels 0 … C-1; ``tokenizer`` names
    how text becomes token ids (``bytes``: :mod:`fedmarket.tokenizer`; a
    :class:`~fedmarket.tokenizer_spec.PostedTokenizer`: the owner's file by CID, whose
    vocabulary is checked against ``arch.vocab_size`` when it is loaded).

    The model: ``arch`` sizes the architecture (:mod:`fedmarket.architectures`). ``hidden`` is
    the version-1 shorthand (MLP widths, or CNN channels with 3×3 convs and 2×2 pools), kept so
    existing callers and v1 specs work; with ``arch`` given it must agree or stay unset, and it
    is always filled in from the arch. ``seed`` seeds the initial global model.

    Version 2 (this one) records input kind and the whole arch in the canonical JSON; version 1
    specs still load and serialise byte for byte as they were posted (same hash), as long as
    they only use what v1 could say.
    """

    model: str
    input_shape: tuple[int, ...]
    num_classes: int
    hidden: tuple[int, ...] | None = None
    seed: int = 0
    training: TrainingSpec = field(default_factory=TrainingSpec)
    aggregation: AggregationSpec = field(default_factory=AggregationSpec)
    scoring: ScoringSpec = field(default_factory=ScoringSpec)
    version: int = SPEC_VERSION
    input_kind: str = ""  # "": the model's own (mlp: features, cnn: image, transformer: tokens)
    arch: Arch | None = None  # None: the arch ``hidden`` describes (v1 semantics)
    tokenizer: str | PostedTokenizer = ""  # "": bytes for token inputs, none otherwise
    lora: LoraSpec | None = None  # None: train every tensor; else adapters on a posted base
    compression: Compression | None = None  # None: updates are plain float32 (kind "none")

    def __post_init__(self) -> None:
        # Accept lists (as JSON gives them) but store tuples, so equal specs compare equal.
        object.__setattr__(self, "input_shape", int_tuple("input_shape", self.input_shape))
        if self.hidden is not None:
            object.__setattr__(self, "hidden", int_tuple("hidden", self.hidden))
        object.__setattr__(self, "aggregation", _frozen_params(self.aggregation))
        object.__setattr__(self, "scoring", _frozen_params(self.scoring))
        if isinstance(self.compression, Compression) and self.compression.kind == "none":
            object.__setattr__(self, "compression", None)  # one spelling of "none": one hash
        if self.model in MODEL_NAMES:
            self._normalise_model()
        self.validate()

    def _normalise_model(self) -> None:
        implied = default_arch(self.model, self.hidden)
        arch = self.arch if self.arch is not None else implied
        if self.arch is not None and self.hidden is not None \
                and arch_hidden(self.arch) != self.hidden:
            raise ConfigError(f"hidden {list(self.hidden)} disagrees with the arch's "
                              f"{list(arch_hidden(self.arch))}: give the widths in one place")
        if isinstance(arch, TransformerArch) and arch.max_len == 0 and self.input_shape:
            arch = replace(arch, max_len=self.input_shape[0])
        object.__setattr__(self, "arch", arch)
        object.__setattr__(self, "hidden", arch_hidden(arch))
        if not self.input_kind:
            object.__setattr__(self, "input_kind", _NATURAL_KIND[self.model])
        if not self.tokenizer and self.input_kind == "tokens":
            object.__setattr__(self, "tokenizer", "bytes")

    # -- validation ---------------------------------------------------------------------------

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid field."""
        if self.version not in SUPPORTED_VERSIONS:
            raise ConfigError(f"model spec version {self.version} is not supported "
                              f"(this market reads {list(SUPPORTED_VERSIONS)})")
        if self.model not in MODEL_NAMES:
            raise ConfigError(f"model {self.model!r} is unknown; choose one of {MODEL_NAMES}")
        if not self.input_shape:
            raise ConfigError("input_shape must have at least one dimension")
        for dim in self.input_shape:
            positive_int("input_shape", dim)
        positive_int("num_classes", self.num_classes)
        if self.num_classes < 2:
            raise ConfigError(f"num_classes must be at least 2, got {self.num_classes}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        self._validate_task()
        if self.lora is not None and (self.version == 1 or not isinstance(self.lora, LoraSpec)):
            raise ConfigError(f"lora needs a version {SPEC_VERSION} spec and a LoraSpec")
        if self.compression is not None and (self.version == 1
                                             or not isinstance(self.compression, Compression)):
            raise ConfigError(f"compression needs a version {SPEC_VERSION} spec and a "
                              "Compression")
        check_arch(self.model, self.arch, self.input_shape)
        if self.version == 1 and (self.arch != default_arch(self.model, self.hidden)
                                  or self.input_kind != _NATURAL_KIND[self.model]):
            raise ConfigError("a version 1 spec can only say model, hidden and input_shape; "
                              f"use version {SPEC_VERSION} for input kinds and architectures")
        for name, kind in (
            ("training", TrainingSpec),
            ("aggregation", AggregationSpec),
            ("scoring", ScoringSpec),
        ):
            if not isinstance(getattr(self, name), kind):
                raise ConfigError(f"{name} must be a {kind.__name__}")
        self.training.validate()
        self.aggregation.validate()
        self.scoring.validate()
        if self.aggregation.params.get("shortcut_bar") and self.input_kind == "tokens":
            raise ConfigError("aggregation.params.shortcut_bar (the trigger scan) needs float "
                              "inputs (features or image); this spec reads tokens")

    def _validate_task(self) -> None:
        kind = self.input_kind
        if kind not in INPUT_KINDS:
            raise ConfigError(f"input_kind {kind!r} is unknown; choose one of {INPUT_KINDS}")
        if kind not in _MODEL_KINDS[self.model]:
            raise ConfigError(f"a {self.model} cannot read {kind} inputs; it reads "
                              f"{' or '.join(_MODEL_KINDS[self.model])}")
        if kind == "image" and len(self.input_shape) != 3:
            raise ConfigError(f"image inputs need input_shape (channels, height, width), "
                              f"got {self.input_shape}")
        if kind == "tokens":
            if isinstance(self.tokenizer, PostedTokenizer):
                if self.version == 1:
                    raise ConfigError(f"a posted tokenizer needs a version {SPEC_VERSION} spec")
                return  # its vocabulary is checked against the arch when the file is loaded
            if self.tokenizer not in TOKENIZERS:
                raise ConfigError(f"tokenizer {self.tokenizer!r} is unknown; choose one of "
                                  f"{TOKENIZERS} or post a file ({{\"kind\": \"json\", "
                                  f"\"cid\": CID}})")
            arch = self.arch
            if isinstance(arch, TransformerArch) and arch.vocab_size < BYTE_VOCAB_SIZE:
                raise ConfigError(f"arch.vocab_size {arch.vocab_size} is below the byte "
                                  f"tokenizer's {BYTE_VOCAB_SIZE} ids")
        elif self.tokenizer:
            raise ConfigError(f"a tokenizer only applies to token inputs, not {kind}")

    # -- shapes -------------------------------------------------------------------------------

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name → shape of every tensor the market moves, in sorted-name order.

        The model's tensors, or with ``lora`` only its adapters (:mod:`fedmarket.lora_spec`).
        """
        if self.lora is not None:
            return adapter_shapes(self.base_shapes(), self.lora.rank, self.lora.freeze_a)
        return self.base_shapes()

    def base_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name → shape of every tensor of the declared model (the LoRA base), sorted."""
        assert self.arch is not None  # filled in by __post_init__
        return param_shapes(self.arch, self.input_shape, self.num_classes)

    def num_params(self) -> int:
        """Total number of scalars in the model (the D of the aggregator's [N, D])."""
        return sum(math.prod(shape) for shape in self.param_shapes().values())

    # -- serialisation ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict (tuples become lists), in this spec's version's layout."""
        data: dict[str, Any] = {
            "model": self.model,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "seed": self.seed,
            "training": asdict(self.training),
            "aggregation": {"rule": self.aggregation.rule,
                            "params": dict(self.aggregation.params)},
            "scoring": {"method": self.scoring.method, "params": dict(self.scoring.params)},
            "version": self.version,
        }
        if self.version == 1:
            data["hidden"] = list(self.hidden or ())
            return data
        assert self.arch is not None
        data["input_kind"] = self.input_kind
        data["arch"] = arch_to_dict(self.arch)
        if isinstance(self.tokenizer, PostedTokenizer):
            data["tokenizer"] = self.tokenizer.to_dict()
        elif self.tokenizer:
            data["tokenizer"] = self.tokenizer
        # Optional sections are added only when set, so every spec posted before them keeps
        # its hash.
        if self.lora is not None:
            data["lora"] = self.lora.to_dict()
        if self.compression is not None:
            data["compression"] = self.compression.to_dict()
        return data

    @property
    def update_form(self) -> str:
        """The form every update of the project is in: "none", "int8" or "topk"."""
        return "none" if self.compression is None else self.compression.kind

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no whitespace, ASCII; the input of :meth:`hash`."""
        return json.dumps(
            self.to_dict(),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
            allow_nan=False,
        )

    def to_bytes(self) -> bytes:
        """Canonical JSON as UTF-8 bytes, as stored in the content store."""
        return self.to_json().encode()

    def hash(self) -> str:
        """Keccak-256 of the canonical JSON, ``0x``-prefixed hex (a ``bytes32`` on chain)."""
        return "0x" + keccak(self.to_bytes()).hex()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSpec:
        """Build and validate a spec from a dict; unknown or missing keys are errors."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"model spec must be a JSON object, got {type(data).__name__}")
        body = dict(data)
        version = body.get("version", SPEC_VERSION)
        allowed = _V1_FIELDS if version == 1 else _FIELDS
        check_keys("model spec", body, allowed, required=("model", "input_shape", "num_classes"))
        try:
            if "training" in body:
                body["training"] = TrainingSpec(
                    **section("training", body["training"], _TRAINING_FIELDS))
            if "aggregation" in body:
                body["aggregation"] = AggregationSpec(
                    **section("aggregation", body["aggregation"], ("rule", "params")))
            if "scoring" in body:
                body["scoring"] = ScoringSpec(
                    **section("scoring", body["scoring"], ("method", "params"))
                )
            if "lora" in body:
                body["lora"] = LoraSpec.from_dict(body["lora"])
            if "compression" in body:
                body["compression"] = Compression.from_dict(body["compression"])
            if "arch" in body:
                body["arch"] = arch_from_dict(str(body["model"]), body["arch"])
            if "tokenizer" in body:
                body["tokenizer"] = tokenizer_from_json(body["tokenizer"])
            return cls(**body)
        except TypeError as exc:  # a wrongly typed value that validation could not phrase
            raise ConfigError(f"malformed model spec: {exc}") from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelSpec:
        """Parse and validate a spec from JSON text or bytes."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"model spec is not valid JSON: {exc}") from exc
        return cls.from_dict(data)


_V1_FIELDS = (
    "model",
    "input_shape",
    "num_classes",
    "hidden",
    "seed",
    "training",
    "aggregation",
    "scoring",
    "version",
)
_FIELDS = (*_V1_FIELDS, "input_kind", "arch", "tokenizer", "lora", "compression")
_TRAINING_FIELDS = ("local_epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay")


def _frozen_params(section: Any) -> Any:
    # Copy params into a fresh dict so a caller mutating its own dict cannot change the hash.
    if isinstance(section, AggregationSpec | ScoringSpec) and isinstance(section.params, Mapping):
        object.__setattr__(section, "params", dict(sorted(section.params.items())))
    return section
