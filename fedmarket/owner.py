"""The project owner's side: turn a request into a spec, initial model and escrowed project.

Posting stores three things by CID before the one transaction that escrows the budget: the
model spec (canonical JSON), the initial global model (safetensors, built deterministically
from the spec's seed) and, when the owner has validation data, that data as an ``.npz`` — so
that the aggregator scores contributions on it and every verifier re-scores on the very same
samples. A text project may add its tokenizer file (:mod:`fedmarket.posted_tokenizer`),
checked to load and to fit the transformer's vocabulary. The transaction is last: if anything
before it fails, no funds move.
"""

from __future__ import annotations

import inspect
import io
import math
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from fedmarket.architectures import Arch, TransformerArch
from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import MAX_COMMITTEE, MAX_FEE_BPS, ProjectParams
from fedmarket.codec import ModelHeader, encode_model
from fedmarket.compression_spec import Compression
from fedmarket.data_fit import check_fits, shape_text
from fedmarket.datasets import DataOptions, Dataset, holdout_split, load_data
from fedmarket.errors import ConfigError, DataError, FedmarketError
from fedmarket.lora_spec import LoraSpec
from fedmarket.models import initial_weights
from fedmarket.modelspec import (
    SCORING_METHODS,
    AggregationSpec,
    ModelSpec,
    ScoringSpec,
    TrainingSpec,
)
from fedmarket.owner_lora import read_base_weights, store_base_weights
from fedmarket.posted_tokenizer import (
    TextEncoder,
    check_tokenizer,
    encode_with,
    read_tokenizer,
    register_tokenizer,
)
from fedmarket.scan_default import default_shortcut_bar
from fedmarket.storage.base import ContentStore
from fedmarket.tokenizer_spec import PostedTokenizer
from fedmarket.units import MAX_WEI

# Input shape of each registry model for the 8x8 digits (MLP: flattened; CNN: 1 channel), for
# callers that post digits without validation data to infer it from.
MODEL_INPUT_SHAPES: dict[str, tuple[int, ...]] = {"mlp": (64,), "cnn": (1, 8, 8)}
# Token sequence length of a text project that declares none: room for a sentence or two of
# bytes, short enough that a small transformer trains a round on a CPU core in seconds.
DEFAULT_MAX_LEN = 64

__all__ = ["MODEL_INPUT_SHAPES", "ProjectRequest", "PostedProject", "post_project", "build_spec",
           "owner_validation", "rule_minimum_trainers", "check_rule_params", "check_request",
           "resolved_rule", "resolve_task", "validation_options", "REFERENCE_RULES",
           "VALIDATION_SCORERS", "DEFAULT_MAX_LEN", "with_default_scan"]

# Rules that train a reference update on the owner's validation data, and scorers that value
# coalitions on it: both need a project with validation data.
REFERENCE_RULES = ("trusted", "fltrust")
VALIDATION_SCORERS = ("gtg_shapley", "group_shapley", "leave_one_out")


def resolved_rule(request: ProjectRequest) -> tuple[str, dict[str, Any]]:
    """The rule and parameters a request asks for, defaults filled in by its data.

    Parameters default to ``{"f": 2}`` for the rules that take an ``f`` and to none otherwise.
    """
    rule = request.rule or ("trusted" if request.validation else "multi_krum")
    if request.rule_params is not None:
        return rule, dict(request.rule_params)
    takes_f = rule in ("krum", "multi_krum", "bulyan", "trimmed_mean")
    return rule, ({"f": 2} if takes_f else {})


@dataclass(frozen=True)
class ProjectRequest:
    """Everything ``fedmarket project post`` asks for; defaults make a sensible digits project."""

    budget_wei: int
    aggregator: str
    rounds: int = 3
    model: str = "mlp"
    hidden: tuple[int, ...] | None = None  # v1 shorthand: MLP widths / CNN channels
    arch: Arch | None = None  # the declarative architecture; None: what hidden says
    # The task; None / "": inferred from the validation data (see resolve_task).
    input_shape: tuple[int, ...] | None = None
    input_kind: str = ""
    num_classes: int | None = None
    seed: int = 0
    training: TrainingSpec = field(default_factory=TrainingSpec)
    # None: the default pipeline for the data (see resolved_rule): with validation data the
    # ``trusted`` rule (reference trust, norms rescaled, near-copies rejected) and
    # group_shapley — the only pipeline measured to hold against adaptive colluders, Sybils and
    # inflated sample counts while paying the best data the most (issue 14); without it
    # Multi-Krum, which needs no validation data. Every rule stays selectable.
    rule: str | None = None
    rule_params: dict[str, Any] | None = None
    scoring: str | None = None  # None: group_shapley with validation data, cosine without
    validation: str | None = "digits"  # built-in name or a path (.npz/.csv/.jsonl/image folder)
    # How to read the validation file (label/text columns; max_len: token sequence length of a
    # text task, default DEFAULT_MAX_LEN or the declared input shape).
    data_options: DataOptions = field(default_factory=DataOptions)
    aggregator_bond_wei: int = 10**18
    min_trainers: int = 3
    max_trainers: int = 64
    # A committee of three drawn per round from the whole verifier registry; two agreeing seats
    # settle it. Five per cent of each round's pool pays the winning side for re-executing it.
    verifier_quorum: int = 2
    committee_size: int = 3
    verifier_fee_bps: int = 500
    min_reputation: int = 0
    commit_duration: int = 120
    reveal_duration: int = 60
    aggregate_duration: int = 120
    verify_duration: int = 60
    # LoRA fine-tuning (fedmarket.lora_spec): rank > 0 trains adapters on the pre-trained base
    # in the base_weights file (.safetensors of the declared arch); 0: train the whole model.
    lora_rank: int = 0
    lora_alpha: float = 8.0
    lora_freeze_a: bool = False  # FFA-LoRA: train and move B only (see fedmarket.lora_spec)
    base_weights: str | None = None
    # How trainers send updates (fedmarket.compression_spec): none, int8 or topk (with fraction).
    compression: Compression = field(default_factory=Compression)
    # A text project's tokenizer: a `tokenizers` JSON file (path) stored by CID; None: bytes.
    tokenizer: str | None = None


@dataclass(frozen=True)
class PostedProject:
    """What was stored and posted."""

    project: int
    spec: ModelSpec
    spec_cid: str
    weights_cid: str
    validation_cid: str | None
    tx: str


def resolve_task(request: ProjectRequest, validation: Dataset | None) -> ProjectRequest:
    """The request with input shape and class count filled in from the validation data.

    Declared values win; inferred ones come from the samples: an MLP reads as many features as
    a sample holds, a CNN the samples' C×H×W, a transformer their sequence length; the class
    count is the largest label + 1 (declare ``num_classes`` if the validation data misses the
    top classes). Nothing is converted: data that cannot give a shape is refused, naming it.
    """
    if request.validation == "digits" and request.model in MODEL_INPUT_SHAPES:
        # The built-in digits are 8x8 grayscale images of 10 digits: read as such by a CNN.
        return replace(request, input_shape=request.input_shape or MODEL_INPUT_SHAPES[
            request.model], num_classes=request.num_classes or 10)
    shape, classes = request.input_shape, request.num_classes
    if validation is None and (shape is None or classes is None):
        missing = " and ".join(n for n, v in (("--input-shape", shape), ("--classes", classes))
                               if v is None)
        raise ConfigError(f"without validation data to infer them from, give {missing}")
    if shape is None and validation is not None:
        have = validation.feature_shape
        if request.model == "mlp":
            shape = (math.prod(have),)
        elif request.model == "cnn" and len(have) != 3:
            raise DataError(f"{validation.source}: a cnn reads C x H x W images but the samples "
                            f"are {shape_text(have)}; give --input-shape C,H,W to read them so")
        else:
            shape = have
    if classes is None and validation is not None:
        classes = max(2, validation.num_classes)
    return replace(request, input_shape=shape, num_classes=classes)


def owner_validation(source: str, options: DataOptions | None = None) -> Dataset:
    """The owner's validation data: for ``digits``, the held-out 20% (trainers get the rest)."""
    if source == "digits":
        return holdout_split(load_data("digits"), fraction=0.2, seed=0)[1]
    return load_data(source, options)


def validation_options(request: ProjectRequest,
                       encoder: TextEncoder | None = None) -> DataOptions:
    """How to read the request's validation file: a transformer's text is tokenized.

    ``encoder``: the posted tokenizer's (None: the byte tokenizer).
    """
    options = request.data_options
    if request.model != "transformer":
        return options
    if encoder is not None:
        options = replace(options, encoder=encoder)
    if options.max_len is not None:
        return options
    length = request.input_shape[0] if request.input_shape else DEFAULT_MAX_LEN
    return replace(options, max_len=length)


def rule_minimum_trainers(rule: str, params: dict[str, Any]) -> int:
    """The fewest accepted updates a rule needs (Krum: 2f + 3, Bulyan: 4f + 3, else 1).

    A trimmed mean trimming ``f`` per side needs ``2f + 1``. Call :func:`check_rule_params`
    first: this trusts the types.
    """
    f = int(params.get("f") or 0)
    return {"krum": 2 * f + 3, "multi_krum": 2 * f + 3, "bulyan": 4 * f + 3,
            "trimmed_mean": 2 * f + 1}.get(rule, 1)


def check_rule_params(rule: str, params: dict[str, Any]) -> None:
    """Refuse rule parameters the aggregator's rule would refuse, before any money moves.

    The rule's own constructor is the one authority on its parameters (names, types, ranges),
    so it is asked directly. Imported here rather than at the top: the core does not depend
    on the aggregator package at import time (it ships in the same distribution).
    """
    from aggregator import rules

    try:
        cls = rules.get(rule)
    except FedmarketError as exc:
        raise ConfigError(str(exc)) from None
    takes = [n for n in inspect.signature(cls.__init__).parameters if n != "self"]
    unknown = sorted(set(params) - set(takes))
    if unknown:
        offered = ", ".join(takes) if takes else "no parameters"
        raise ConfigError(f"rule {rule} has no parameter {', '.join(map(repr, unknown))} "
                          f"(it takes: {offered})")
    try:
        cls(**params)
    except FedmarketError as exc:
        raise ConfigError(f"rule parameters {params}: {exc}") from None
    except (TypeError, ValueError) as exc:  # a type the constructor could not take at all
        raise ConfigError(f"rule parameters {params} are invalid for {rule}: {exc}") from None


def check_request(request: ProjectRequest, owner: str) -> None:
    """Every check of a request that needs no chain state, each refused with one sentence.

    The contract checks some of these too (``FedMarketInvalidParams``), but only after the
    user typed them; the rest (rule parameters, field widths) the contract cannot see at all,
    and a mistake there would escrow the budget for a project no round of which can work.
    """
    if request.budget_wei <= 0:
        raise ConfigError("the budget must be positive")
    fields = (("budget", request.budget_wei, MAX_WEI), ("rounds", request.rounds, 2**16 - 1),
              ("aggregator bond", request.aggregator_bond_wei, MAX_WEI),
              ("min trainers", request.min_trainers, 2**32 - 1),
              ("max trainers", request.max_trainers, 2**32 - 1),
              ("verifier quorum", request.verifier_quorum, 2**32 - 1),
              ("commit duration", request.commit_duration, 2**32 - 1),
              ("reveal duration", request.reveal_duration, 2**32 - 1),
              ("aggregate duration", request.aggregate_duration, 2**32 - 1),
              ("verify duration", request.verify_duration, 2**32 - 1))
    for name, value, top in fields:
        if not 1 <= value <= top and not (name == "aggregator bond" and value == 0):
            raise ConfigError(f"the {name} must be between 1 and {top}, got {value}")
    if bool(request.lora_rank) != bool(request.base_weights):
        raise ConfigError("LoRA fine-tuning needs both a rank (--lora-rank) and the base "
                          "weights to fine-tune (--base-weights PATH.safetensors)")
    if request.lora_rank:
        LoraSpec("checked", request.lora_rank, request.lora_alpha)  # rank and alpha, early
    if request.tokenizer and request.model != "transformer":
        raise ConfigError(f"a tokenizer (--tokenizer) applies to text projects (--model "
                          f"transformer), not to a {request.model}")
    if not 1 <= request.committee_size <= MAX_COMMITTEE:
        raise ConfigError(f"the committee size must be between 1 and {MAX_COMMITTEE}, "
                          f"got {request.committee_size}")
    if request.verifier_quorum > request.committee_size:
        raise ConfigError(f"the verifier quorum {request.verifier_quorum} is above the committee "
                          f"size {request.committee_size}: no round could ever settle")
    if not 0 <= request.verifier_fee_bps <= MAX_FEE_BPS:
        raise ConfigError(f"the verifier fee must be between 0 and {MAX_FEE_BPS} basis points "
                          f"(half the pool), got {request.verifier_fee_bps}")
    if not -(2**63) <= request.min_reputation < 2**63:
        raise ConfigError(f"the minimum reputation {request.min_reputation} is out of range")
    if request.min_trainers > request.max_trainers:
        raise ConfigError(f"the minimum of {request.min_trainers} trainers is above the maximum "
                          f"of {request.max_trainers}: no round could ever gather enough")
    if request.aggregator.lower() == owner.lower():
        raise ConfigError(f"the aggregator {request.aggregator} is the owner's own account; "
                          "an owner may not aggregate its own project")
    if set(request.aggregator.lower().removeprefix("0x")) <= {"0"}:
        raise ConfigError("the aggregator address is the zero address")
    rule, params = resolved_rule(request)
    if rule in REFERENCE_RULES and not request.validation:
        raise ConfigError(f"rule {rule} trains a reference update on the owner's validation "
                          "data; give --validation or choose another --rule")
    check_rule_params(rule, params)
    need = rule_minimum_trainers(rule, params)
    if need > request.max_trainers:
        raise ConfigError(f"rule {rule} with {params} needs at least {need} "
                          f"updates per round but at most {request.max_trainers} trainers may "
                          "join; lower f or raise --max-trainers")
    keep = params.get("m") if rule == "multi_krum" else None
    if isinstance(keep, int) and keep > request.max_trainers:
        raise ConfigError(f"rule multi_krum keeping m={keep} updates needs at least {keep} "
                          f"trainers but at most {request.max_trainers} may join")
    if request.min_trainers < need:
        raise ConfigError(f"rule {rule} with {params} needs at least {need} "
                          f"updates per round; raise --min-trainers to {need} or lower f")


def check_chain(contracts: MarketContracts, request: ProjectRequest) -> None:
    """The checks that need the deployment: phase floor and a verifier pool for the committee."""
    floor = contracts.market.min_phase_duration()
    for name, value in (("commit", request.commit_duration), ("reveal", request.reveal_duration),
                        ("aggregate", request.aggregate_duration),
                        ("verify", request.verify_duration)):
        if value < floor:
            raise ConfigError(f"the {name} phase of {value} s is shorter than this deployment's "
                              f"floor of {floor} s (every party must be able to act in it)")
    pool = contracts.registry.verifier_count()
    if pool < request.committee_size:
        raise ConfigError(f"only {pool} verifiers are registered but each round needs a "
                          f"committee of {request.committee_size}: register more verifiers "
                          "(fedmarket verifier register) or lower --committee")


def build_spec(request: ProjectRequest, validation_cid: str | None,
               base_weights_cid: str | None = None,
               tokenizer_cid: str | None = None) -> ModelSpec:
    """The model spec for a request whose task is resolved (validates every field).

    With ``base_weights_cid`` and a LoRA rank, the spec's ``lora`` section names that base;
    with ``tokenizer_cid`` its ``tokenizer`` names that posted file (else bytes for text).
    """
    if request.validation == "digits":  # a known task: no need to load the data to infer it
        request = resolve_task(request, None)
    if request.input_shape is None or request.num_classes is None:
        raise ConfigError("the project's input shape and class count are unknown: give them, "
                          "or validation data to infer them from (resolve_task)")
    method = request.scoring or ("group_shapley" if validation_cid else "cosine")
    if method in VALIDATION_SCORERS and not validation_cid:
        raise ConfigError(f"scoring method {method!r} needs validation data (--validation)")
    rule, params = resolved_rule(request)
    if rule in REFERENCE_RULES and not validation_cid:
        raise ConfigError(f"rule {rule} needs validation data (--validation)")
    scoring_params: dict[str, Any] = {"validation_cid": validation_cid} if validation_cid else {}
    spec = ModelSpec(
        model=request.model, input_shape=request.input_shape, num_classes=request.num_classes,
        input_kind=request.input_kind, hidden=request.hidden, arch=request.arch,
        seed=request.seed, training=request.training,
        aggregation=AggregationSpec(rule=rule, params=params),
        scoring=ScoringSpec(method=method, params=scoring_params),
        lora=LoraSpec(base_weights_cid, request.lora_rank, request.lora_alpha,
                      request.lora_freeze_a)
        if base_weights_cid and request.lora_rank else None,
        compression=request.compression,
        tokenizer=PostedTokenizer(tokenizer_cid) if tokenizer_cid else "")
    return with_default_scan(spec, request)


def with_default_scan(spec: ModelSpec, request: ProjectRequest) -> ModelSpec:
    """``spec`` with the trigger scan's default bar where the owner left the rule's defaults.

    The default pipeline (``trusted`` with no parameters given) judges backdoor shortcuts on
    the tasks the scan was measured on (:func:`fedmarket.scan_default.default_shortcut_bar`);
    the bar is written into the spec so trainers see it before joining. Explicit parameters
    (``{}`` or ``{"shortcut_bar": 0}`` to turn it off) are kept as given.
    """
    if spec.aggregation.rule != "trusted" or request.rule_params is not None:
        return spec
    bar = default_shortcut_bar(spec)
    if not bar:
        return spec
    return replace(spec, aggregation=AggregationSpec(
        "trusted", {**spec.aggregation.params, "shortcut_bar": bar}))


def _npz_bytes(data: Dataset) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=data.x.astype(np.float32), y=data.y.astype(np.int64))
    return buffer.getvalue()


def post_project(contracts: MarketContracts, store: ContentStore,
                 request: ProjectRequest) -> PostedProject:
    """Store spec, initial model and validation data, then escrow the budget on chain."""
    owner = contracts.market.contract.client.account.address
    check_request(request, owner)
    check_chain(contracts, request)
    balance = contracts.market.contract.client.w3.eth.get_balance(owner)
    if balance < request.budget_wei:
        raise ConfigError(f"budget {request.budget_wei} wei exceeds the account's balance "
                          f"{balance} wei: it cannot be escrowed")
    # The tokenizer must load (Tokenizer.from_str) before anything is stored or escrowed.
    tokenizer = read_tokenizer(request.tokenizer) if request.tokenizer else None
    encoder = None if tokenizer is None else partial(encode_with, tokenizer[1])
    validation = (owner_validation(request.validation, validation_options(request, encoder))
                  if request.validation else None)
    request = resolve_task(request, validation)
    tokenizer_cid = None
    if tokenizer is not None:
        # Its ids must fit the transformer before the data tokenized with it is checked.
        arch = build_spec(request, "to-be-stored" if validation else None,
                          tokenizer_cid="to-be-stored").arch
        assert isinstance(arch, TransformerArch)  # check_request: only a transformer
        check_tokenizer(tokenizer[1], arch.vocab_size, str(request.tokenizer))
        tokenizer_cid = "to-be-stored"
    validation_cid = None
    if validation is not None:
        # The validation data must fit the spec it will be posted with (cid not yet known).
        check_fits(validation, build_spec(request, "to-be-stored", tokenizer_cid=tokenizer_cid))
    if tokenizer is not None:
        tokenizer_cid = store.put(tokenizer[0])
        store.pin(tokenizer_cid)
        register_tokenizer(tokenizer_cid, tokenizer[1])
    if validation is not None:
        validation_cid = store.put(_npz_bytes(validation))
        store.pin(validation_cid)
    base_cid = None
    if request.lora_rank:
        assert request.base_weights is not None  # check_request
        base_cid = store_base_weights(store, build_spec(request, validation_cid,
                                                        tokenizer_cid=tokenizer_cid),
                                      read_base_weights(request.base_weights))
    spec = build_spec(request, validation_cid, base_cid, tokenizer_cid)
    spec_cid = store.put(spec.to_bytes())
    store.pin(spec_cid)
    weights = encode_model(initial_weights(spec), ModelHeader(0, 0, spec.hash()), spec)
    weights_cid = store.put(weights)
    store.pin(weights_cid)
    params = ProjectParams(
        model_spec_cid=spec_cid, initial_weights_cid=weights_cid, aggregator=request.aggregator,
        aggregator_bond_wei=request.aggregator_bond_wei, rounds=request.rounds,
        min_trainers=request.min_trainers, max_trainers=request.max_trainers,
        verifier_quorum=request.verifier_quorum, committee_size=request.committee_size,
        verifier_fee_bps=request.verifier_fee_bps, min_reputation=request.min_reputation,
        scoring_method=SCORING_METHODS.index(spec.scoring.method),
        commit_duration=request.commit_duration, reveal_duration=request.reveal_duration,
        aggregate_duration=request.aggregate_duration, verify_duration=request.verify_duration)
    project = contracts.market.post_project(params, request.budget_wei)
    return PostedProject(project, spec, spec_cid, weights_cid, validation_cid, tx="")
