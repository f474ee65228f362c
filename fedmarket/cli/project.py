"""``fedmarket project post | show | model | list | finish | cancel``: the owner's commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from fedmarket.architectures import Arch, arch_from_dict
from fedmarket.chain.client import dev_account
from fedmarket.chain.types import ProjectInfo, ProjectStatus, RoundInfo, RoundStatus
from fedmarket.cli.common import (
    JsonOpt,
    check_project_exists,
    checked_address,
    emit,
    user_errors,
)
from fedmarket.cli.context import (
    AccountOpt,
    CompressionOpt,
    Conn,
    DataDirOpt,
    IpfsOpt,
    KeyFileOpt,
    LabelColumnOpt,
    RpcOpt,
    TextColumnOpt,
    TopkFractionOpt,
    ether_to_wei,
    role_context,
    wei_to_ether,
)
from fedmarket.compression_spec import Compression
from fedmarket.data_fit import shape_text
from fedmarket.datasets import DataOptions
from fedmarket.errors import ConfigError, FedmarketError
from fedmarket.modelspec import MODEL_NAMES, ModelSpec, TrainingSpec
from fedmarket.owner import ProjectRequest, post_project
from fedmarket.protocol import load_spec
from fedmarket.refunds import RoundClosure, round_closures

app = typer.Typer(help="Post and manage training projects (the owner's side).",
                  no_args_is_help=True)

def _parse_params(text: str) -> dict[str, Any]:
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"--rule-params must be a JSON object, e.g. '{{\"f\": 2}}' ({exc})") from None
    if not isinstance(params, dict):
        raise ConfigError("--rule-params must be a JSON object, e.g. '{\"f\": 2}'")
    return params


def _int_list(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(w) for w in text.split(",") if w.strip())
    except ValueError:
        raise ConfigError(f"{option} must be comma-separated integers, got {text!r}") from None
    return values


def _parse_arch(model: str, text: str) -> Arch:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--arch must be a JSON object, e.g. '{{\"hidden\": [32]}}' "
                          f"({exc})") from None
    return arch_from_dict(model, data)


@app.command()
def post(
    budget: str = typer.Option(..., "--budget", help="Reward escrowed now, in ether."),
    rounds: int = typer.Option(3, "--rounds", min=1, help="Training rounds."),
    model: str = typer.Option("mlp", "--model",
                              help="Model from the registry: mlp, cnn or transformer."),
    hidden: str = typer.Option(None, "--hidden",
                               help="Shorthand: MLP hidden widths, or CNN channels (3x3 convs, "
                                    "2x2 pools), e.g. 64,32 (default 64)."),
    arch: str = typer.Option(None, "--arch", help="The architecture as JSON (README: "
                             "'Architectures'), e.g. '{\"hidden\": [32], \"dropout\": 0.1}'."),
    input_shape: str = typer.Option(None, "--input-shape",
                                    help="Input shape without the batch, e.g. 30 or 3,16,16 "
                                         "(default: from the validation data)."),
    input_kind: str = typer.Option(None, "--input-kind",
                                   help="features, image or tokens (default: the model's)."),
    classes: int = typer.Option(None, "--classes", min=2,
                                help="Number of classes (default: largest validation label + 1)."),
    label_column: str = LabelColumnOpt, text_column: str = TextColumnOpt,
    max_len: int = typer.Option(None, "--max-len", min=2,
                                help="Token sequence length of a text task (default 64, or "
                                     "--input-shape)."),
    tokenizer: Path = typer.Option(None, "--tokenizer",
                                   help="Text task: a Hugging Face `tokenizers` JSON file, "
                                        "stored by CID (id 0 its pad token, every id below "
                                        "arch.vocab_size); default: the built-in bytes."),
    validation: str = typer.Option("digits", "--validation",
                                   help="Owner's validation data: 'digits', a path, or 'none'."),
    rule: str = typer.Option(None, "--rule", help="Robust aggregation rule (default by data: "
                             "trusted with validation data, multi_krum without)."),
    rule_params: str = typer.Option(None, "--rule-params",
                                    help='Rule parameters (JSON; default {"f": 2} where '
                                         'f applies).'),
    scoring: str = typer.Option(None, "--scoring",
                                help="group_shapley | gtg_shapley | leave_one_out | cosine "
                                     "(default by data: group_shapley with validation data)."),
    aggregator: str = typer.Option(None, "--aggregator", help="Aggregator address."),
    aggregator_account: int = typer.Option(
        2, "--aggregator-account", help="Local dev account of the aggregator (if no address)."),
    bond: str = typer.Option("1", "--bond", help="Aggregator bond, in ether."),
    min_trainers: int = typer.Option(7, "--min-trainers", min=1),
    max_trainers: int = typer.Option(64, "--max-trainers", min=1),
    quorum: int = typer.Option(
        2, "--quorum", min=1,
        help="Smallest winning side of a round's committee (the verdict needs a majority of "
             "the votes and at least this many)."),
    committee: int = typer.Option(
        3, "--committee", min=1, max=15,
        help="Verifiers drawn per round, on chain, from every verifier registered when the "
             "round starts; no party of the project may sit."),
    verifier_fee: float = typer.Option(
        5.0, "--verifier-fee", min=0.0, max=50.0,
        help="Percent of each round's pool paid to the committee's winning side for "
             "re-executing the round; trainers share the rest."),
    min_reputation: int = typer.Option(0, "--min-reputation"),
    epochs: int = typer.Option(5, "--epochs", min=1, help="Local epochs per round."),
    lr: float = typer.Option(0.01, "--lr", help="Local learning rate."),
    batch_size: int = typer.Option(16, "--batch-size", min=1),
    optimizer: str = typer.Option("adam", "--optimizer", help="adam or sgd."),
    commit_s: int = typer.Option(120, "--commit-seconds", min=1),
    reveal_s: int = typer.Option(60, "--reveal-seconds", min=1),
    aggregate_s: int = typer.Option(120, "--aggregate-seconds", min=1),
    verify_s: int = typer.Option(60, "--verify-seconds", min=1),
    lora_rank: int = typer.Option(0, "--lora-rank", min=0,
                                  help="LoRA fine-tuning: adapter rank r (0: train the whole "
                                       "model); needs --base-weights."),
    lora_alpha: float = typer.Option(8.0, "--lora-alpha",
                                     help="LoRA scale alpha (merged W + alpha/r * B @ A)."),
    lora_freeze_a: bool = typer.Option(
        False, "--lora-freeze-a",
        help="FFA-LoRA: keep A at its seeded init, train and send only B (averages exactly)."),
    base_weights: Path = typer.Option(None, "--base-weights",
                                      help="Pre-trained weights of the declared arch "
                                           "(.safetensors) that LoRA adapters fine-tune."),
    compression: str = CompressionOpt, topk_fraction: float = TopkFractionOpt,
    data_dir: Path = DataDirOpt, account: int = typer.Option(1, "--account",
                                                             help="Owner's dev account."),
    rpc_url: str = RpcOpt, key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Escrow a budget and post a training project; prints the project id."""
    with user_errors():
        if model not in MODEL_NAMES:
            raise ConfigError(f"unknown model {model!r}; choose one of {', '.join(MODEL_NAMES)}")
        if hidden is not None and arch is not None:
            raise ConfigError("give the widths in --hidden or in --arch, not both")
        address = (checked_address(aggregator, "--aggregator") if aggregator
                   else dev_account(aggregator_account).address)
        request = ProjectRequest(
            budget_wei=ether_to_wei(budget, "--budget"), aggregator=address, rounds=rounds,
            model=model, hidden=None if hidden is None else _int_list(hidden, "--hidden"),
            arch=None if arch is None else _parse_arch(model, arch),
            input_shape=None if input_shape is None else _int_list(input_shape, "--input-shape"),
            input_kind=input_kind or "", num_classes=classes,
            data_options=DataOptions(label_column=label_column, text_column=text_column,
                                     max_len=max_len),
            training=TrainingSpec(local_epochs=epochs, lr=lr, batch_size=batch_size,
                                 optimizer=optimizer),
            rule=rule, rule_params=None if rule_params is None else _parse_params(rule_params),
            scoring=scoring,
            validation=None if validation == "none" else validation,
            aggregator_bond_wei=ether_to_wei(bond, "--bond"), min_trainers=min_trainers,
            max_trainers=max_trainers, verifier_quorum=quorum, committee_size=committee,
            verifier_fee_bps=round(verifier_fee * 100), min_reputation=min_reputation,
            commit_duration=commit_s, reveal_duration=reveal_s, aggregate_duration=aggregate_s,
            verify_duration=verify_s, lora_rank=lora_rank, lora_alpha=lora_alpha,
            lora_freeze_a=lora_freeze_a,
            base_weights=None if base_weights is None else str(base_weights),
            compression=Compression(compression, topk_fraction),
            tokenizer=None if tokenizer is None else str(tokenizer))
        with role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
            posted = post_project(ctx.contracts, ctx.store, request)
        emit(as_json, {"project": posted.project, "model_spec_cid": posted.spec_cid,
                       "initial_weights_cid": posted.weights_cid,
                       "validation_cid": posted.validation_cid,
                       "rule": posted.spec.aggregation.rule,
                       "rule_params": dict(posted.spec.aggregation.params),
                       "scoring": posted.spec.scoring.method,
                       "model": posted.spec.model, "input_kind": posted.spec.input_kind,
                       "input_shape": list(posted.spec.input_shape),
                       "num_classes": posted.spec.num_classes,
                       "num_params": posted.spec.num_params(),
                       "lora": None if posted.spec.lora is None else posted.spec.lora.to_dict(),
                       "compression": posted.spec.update_form,
                       "tokenizer": posted.spec.to_dict().get("tokenizer"),
                       "budget_wei": str(request.budget_wei)},
             f"project {posted.project} posted: budget {budget} ETH, {rounds} rounds, "
             f"rule {posted.spec.aggregation.rule}{_scan_text(posted.spec)}, scoring "
             f"{posted.spec.scoring.method}\n"
             f"  task {posted.spec.input_kind} {shape_text(posted.spec.input_shape)}, "
             f"{posted.spec.num_classes} classes; model {posted.spec.model}, "
             f"{posted.spec.num_params():,} parameters\n"
             f"  spec {posted.spec_cid}\n  weights {posted.weights_cid}")


def _scan_text(spec: ModelSpec) -> str:
    """`` + trigger scan (bar B)`` when the spec judges backdoor shortcuts, else nothing."""
    bar = spec.aggregation.params.get("shortcut_bar")
    return f" + trigger scan (bar {bar})" if bar else ""


def _project_json(info: ProjectInfo) -> dict[str, Any]:
    p = info.params
    return {
        "project": info.id, "owner": info.owner, "status": info.status.name.lower(),
        "budget_wei": str(info.budget_wei), "escrow_wei": str(info.escrow_wei),
        "current_round": info.current_round, "rounds": p.rounds,
        "trainers": info.trainer_count, "committee_size": p.committee_size,
        "verifier_fee_bps": p.verifier_fee_bps,
        "aggregator": p.aggregator, "aggregator_bond_wei": str(p.aggregator_bond_wei),
        "verifier_quorum": p.verifier_quorum, "min_trainers": p.min_trainers,
        "max_trainers": p.max_trainers, "model_spec_cid": p.model_spec_cid,
        "initial_weights_cid": p.initial_weights_cid,
    }


@app.command()
def show(
    project: int = typer.Argument(..., help="Project id."),
    data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
    key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
) -> None:
    """Show a project's parameters, state and rounds."""
    with user_errors(), role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
        market = ctx.contracts.market
        check_project_exists(project, market.project_count())
        info = market.project(project)
        data = _project_json(info)
        closures = round_closures(market, project, ctx.chain.deployment.start_block)
        data["rounds_detail"] = [
            _round_json(market.round(project, i), closures.get(i))
            for i in range(1, info.current_round + 1)]
        lines = [f"project {project} ({data['status']}), owner {info.owner}",
                 f"  budget {wei_to_ether(info.budget_wei)} ETH, escrow "
                 f"{wei_to_ether(info.escrow_wei)} ETH, round {info.current_round}/"
                 f"{info.params.rounds}, {info.trainer_count} trainers, committee of "
                 f"{info.params.committee_size} (quorum {info.params.verifier_quorum}, fee "
                 f"{info.params.verifier_fee_bps / 100:g} % of each pool)"]
        spec = _spec_or_none(ctx.store, info.params.model_spec_cid)
        data["task"] = None if spec is None else {
            "model": spec.model, "input_kind": spec.input_kind,
            "input_shape": list(spec.input_shape), "num_classes": spec.num_classes,
            "num_params": spec.num_params(), "arch": spec.to_dict().get("arch"),
            "spec_version": spec.version,
            "lora": None if spec.lora is None else spec.lora.to_dict(),
            "compression": None if spec.compression is None else spec.compression.to_dict(),
            "tokenizer": spec.to_dict().get("tokenizer")}
        lines.append(f"  task {spec.input_kind} {shape_text(spec.input_shape)}, "
                     f"{spec.num_classes} classes; model {spec.model}, "
                     f"{spec.num_params():,} parameters"
                     f"{f' (LoRA rank {spec.lora.rank} on a posted base)' if spec.lora else ''}"
                     f"{f', updates {spec.update_form}' if spec.compression else ''}"
                     if spec is not None else
                     "  task unknown: the model spec is missing from the store or invalid")
        lines += [_round_line(r) for r in data["rounds_detail"]]
        emit(as_json, data, "\n".join(lines))


@app.command("model")
def model_(
    project: int = typer.Argument(..., help="Project id."),
    out: Path = typer.Option(..., "--out", help="Where to write the model (.safetensors)."),
    adapters: bool = typer.Option(False, "--adapters",
                                  help="LoRA projects: write the adapters as the market holds "
                                       "them, not merged into the base."),
    data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
    key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
) -> None:
    """Write the project's latest finalized global model (LoRA: merged into the base)."""
    from safetensors.torch import save_file

    from fedmarket.final_model import final_model

    with user_errors(), role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
        check_project_exists(project, ctx.contracts.market.project_count())
        model = final_model(ctx.contracts.market, ctx.store, project, merge=not adapters)
        save_file(model.weights, str(out))
        count = sum(t.numel() for t in model.weights.values())
        emit(as_json, {"project": project, "model_cid": model.model_cid, "out": str(out),
                       "merged": model.merged, "num_params": count},
             f"project {project}: model {model.model_cid} -> {out} ({count:,} parameters"
             f"{', LoRA adapters merged into the base' if model.merged else ''})")


def _spec_or_none(store: Any, cid: str) -> ModelSpec | None:
    """The project's spec, or None when the store lacks it or it is not a valid spec."""
    try:
        return load_spec(store, cid)
    except FedmarketError:
        return None


def _round_json(r: RoundInfo, closure: RoundClosure | None) -> dict[str, Any]:
    """A round for ``project show``; a refunded or disputed one carries why, and paid 0."""
    paid = r.status == RoundStatus.FINALIZED
    return {"round": r.round, "status": r.status.name.lower(), "phase": r.phase.name.lower(),
            "commits": r.commits, "reveals": r.reveals, "agrees": r.agrees,
            "disagrees": r.disagrees, "pool_wei": str(r.pool_wei),
            "verifier_fee_wei": str(r.fee_wei), "verifier_pool": r.verifier_pool,
            "total_rewarded_wei": str(r.total_rewarded_wei), "model_cid": r.model_cid,
            "result_cid": r.result_cid, "paid": paid,
            "paid_wei": str(r.total_rewarded_wei if paid else 0),
            "refund_reason": closure.reason if closure else None,
            "refund_sentence": closure.sentence if closure else None}


def _round_line(r: dict[str, Any]) -> str:
    head = (f"  round {r['round']}: {r['phase']} ({r['reveals']} reveals, {r['agrees']} agree / "
            f"{r['disagrees']} disagree")
    if r["paid"]:
        return f"{head}, paid {wei_to_ether(int(r['paid_wei']))} ETH)"
    if r["refund_sentence"]:
        return (f"{head}), {r['status']}: nothing paid, the {wei_to_ether(int(r['pool_wei']))} "
                f"ETH pool goes back to the owner; {r['refund_sentence']}")
    return f"{head})"


@app.command("list")
def list_(
    data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
    key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
) -> None:
    """List every project with its status and budget."""
    with user_errors(), role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
        market = ctx.contracts.market
        infos = [market.project(p) for p in range(1, market.project_count() + 1)]
        rows = [_project_json(i) for i in infos]
        text = "\n".join(
            f"{r['project']:>4}  {r['status']:<9} round {r['current_round']}/{r['rounds']}  "
            f"budget {wei_to_ether(int(r['budget_wei']))} ETH  {r['trainers']} trainers"
            for r in rows) or "no projects yet"
        emit(as_json, {"projects": rows}, text)


@app.command()
def finish(
    project: int = typer.Argument(..., help="Project id."),
    data_dir: Path = DataDirOpt, account: int = typer.Option(1, "--account"),
    rpc_url: str = RpcOpt, key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """After the last round: credit unspent escrow to the owner and withdraw it."""
    with user_errors(), role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
        market = ctx.contracts.market
        info = market.project(project)
        if info.status == ProjectStatus.CREATED:
            raise ConfigError(f"project {project} has not started (its aggregator has not "
                              f"bonded yet), so it cannot finish; `fedmarket project cancel "
                              f"{project}` returns its escrow")
        if info.status == ProjectStatus.RUNNING:
            market.finish(project)
        paid = market.withdraw() if market.credit_of() > 0 else 0
        status = market.project(project).status.name.lower()
        emit(as_json, {"project": project, "status": status, "withdrawn_wei": str(paid)},
             f"project {project} is {status}; withdrew {wei_to_ether(paid)} ETH to "
             f"{ctx.address}")


@app.command()
def cancel(
    project: int = typer.Argument(..., help="Project id."),
    data_dir: Path = DataDirOpt, account: int = typer.Option(1, "--account"),
    rpc_url: str = RpcOpt, key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Before the aggregator bonds: cancel the project and withdraw its whole escrow."""
    with user_errors(), role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
        market = ctx.contracts.market
        info = market.project(project)
        if info.status != ProjectStatus.CREATED:
            raise ConfigError(f"project {project} is {info.status.name.lower()}: only a project "
                              "whose aggregator has not bonded yet can be cancelled")
        market.cancel_project(project)
        paid = market.withdraw() if market.credit_of() > 0 else 0
        emit(as_json, {"project": project, "status": "cancelled", "withdrawn_wei": str(paid)},
             f"project {project} cancelled; withdrew {wei_to_ether(paid)} ETH to {ctx.address}")
