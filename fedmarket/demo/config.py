"""Demo settings with defaults that finish a convincing market in a few minutes on 2 cores.

:meth:`DemoConfig.validate` checks every option without a chain, so a bad one is refused in
one sentence before the demo starts a node or a process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from fedmarket.chain.client import dev_account
from fedmarket.compression_spec import Compression
from fedmarket.errors import ConfigError
from fedmarket.examples import EXAMPLE_NAMES, get_example
from fedmarket.modelspec import AGGREGATION_RULES, TrainingSpec
from fedmarket.owner import (
    MODEL_INPUT_SHAPES,
    ProjectRequest,
    build_spec,
    check_request,
    check_rule_params,
    rule_minimum_trainers,
)
from fedmarket.units import ether_to_wei

__all__ = ["DemoConfig", "PhaseWindows", "DEMO_TRAINING", "OWNER", "AGGREGATOR", "VERIFIERS",
           "FIRST_TRAINER"]

# Local dev accounts by role (anvil's public keys): 0 deploys.
OWNER = 1
AGGREGATOR = 2
VERIFIERS = (3, 4, 5)
FIRST_TRAINER = 6

# Measured on the digits split: 5 local Adam epochs reach ~0.8 validation accuracy in 3
# rounds with 8 non-IID trainers, and give updates large enough that Multi-Krum separates
# sign-flipped ones from the first round on (1-2 SGD epochs left them near the origin).
DEMO_TRAINING = TrainingSpec(local_epochs=5, lr=0.01, batch_size=16, optimizer="adam")

SCORINGS = ("group_shapley", "gtg_shapley", "leave_one_out", "cosine")
#: Rules that take an ``f`` (the number of attackers they are built to withstand).
RULES_WITH_F = ("krum", "multi_krum", "bulyan", "trimmed_mean")


@dataclass(frozen=True)
class PhaseWindows:
    """Seconds per round phase, as posted with the project (default: :mod:`.windows`)."""

    commit: int
    reveal: int
    aggregate: int
    verify: int


@dataclass(frozen=True)
class DemoConfig:
    """What ``fedmarket demo`` runs."""

    # None: the data dir every command uses (--data-dir, FEDMARKET_DATA_DIR, fedmarket.toml).
    data_dir: Path | None = None
    trainers: int = 8
    malicious: int = 2
    attack: str = "sign_flip"
    rounds: int = 3
    budget_ether: str = "10"
    # Dirichlet alpha of the non-IID split: 0.5 gives each trainer a visibly skewed label mix.
    alpha: float = 0.5
    model: str = "mlp"  # of the digits example; the others bring their own model
    # digits (the default), or an example project of fedmarket.examples: tabular, images, text.
    example: str = "digits"
    # The project's default pipeline (fedmarket.owner.resolved_rule with validation data):
    # the trusted rule and group_shapley scoring; any rule and scorer can be picked.
    rule: str = "trusted"
    # f of a rule that takes one; None = the most Multi-Krum tolerates, floor((n - 3) / 2).
    byzantine: int | None = None
    scoring: str = "group_shapley"
    seed: int = 7
    # Phase lengths; None sizes them from the work measured on this machine just before
    # posting (fedmarket.demo.windows). Commit and reveal close early once every trainer
    # acted, and a round settles as soon as a majority of its committee agreed.
    windows: PhaseWindows | None = None
    quorum: int = 2
    # How trainers send updates (fedmarket.compression_spec); none: plain float32.
    compression: Compression = field(default_factory=Compression)
    timeout: float = 900.0
    port: int | None = None

    @property
    def f(self) -> int:
        """The rule's assumed number of Byzantine trainers (rules that take an f)."""
        return self.byzantine if self.byzantine is not None else max(0, (self.trainers - 3) // 2)

    @property
    def rule_params(self) -> dict[str, int]:
        """The rule's parameters: its f where it takes one, else none (its defaults)."""
        return {"f": self.f} if self.rule in RULES_WITH_F else {}

    @property
    def describe_pipeline(self) -> str:
        """The rule and scorer in words, for the demo's first lines."""
        f = f" f={self.f}" if self.rule in RULES_WITH_F else ""
        return f"{self.rule}{f} + {self.scoring}"

    @property
    def budget_wei(self) -> int:
        """The escrowed budget, parsed exactly (refused if not a positive ether amount)."""
        return ether_to_wei(self.budget_ether, "--budget")

    def project_request(self, windows: PhaseWindows, validation: str = "digits",
                        base_weights: str | None = None) -> ProjectRequest:
        """The owner's project for this demo, with the given phase windows.

        ``validation``: where the example's validation file was written (digits: built in);
        ``base_weights``: the pre-trained base a LoRA example fine-tunes (None: not yet made).
        """
        if self.example != "digits":
            example = get_example(self.example)
            request = replace(
                self._digits_request(windows), model=example.model, hidden=None,
                arch=example.arch, input_shape=example.input_shape,
                num_classes=example.num_classes, training=example.training,
                validation=validation)
            if example.lora_rank and base_weights:
                request = replace(request, lora_rank=example.lora_rank,
                                  lora_alpha=example.lora_alpha,
                                  lora_freeze_a=example.lora_freeze_a, base_weights=base_weights)
            return request
        return self._digits_request(windows)

    def _digits_request(self, windows: PhaseWindows) -> ProjectRequest:
        return ProjectRequest(
            budget_wei=self.budget_wei, aggregator=dev_account(AGGREGATOR).address,
            rounds=self.rounds, model=self.model, input_shape=MODEL_INPUT_SHAPES[self.model],
            hidden=(64,) if self.model == "mlp" else (16, 32), training=DEMO_TRAINING,
            # None where the rule takes no f: the project's defaults (the trusted rule's
            # trigger scan, fedmarket.owner.with_default_scan) as a posted project gets them.
            rule=self.rule, rule_params=self.rule_params or None, scoring=self.scoring,
            validation="digits",
            min_trainers=max(3, rule_minimum_trainers(self.rule, self.rule_params)),
            max_trainers=self.trainers,
            verifier_quorum=self.quorum, committee_size=len(VERIFIERS),
            commit_duration=windows.commit,
            reveal_duration=windows.reveal, aggregate_duration=windows.aggregate,
            verify_duration=windows.verify, compression=self.compression)

    def validate(self) -> None:
        """Refuse settings the market cannot run, naming the setting (no chain needed)."""
        from trainer.attacks import names  # the demo is where the components meet

        if not 1 <= self.trainers <= 34:
            raise ConfigError(f"--trainers must be 1..34 (dev accounts), got {self.trainers}")
        if not 0 <= self.malicious <= self.trainers:
            raise ConfigError(f"--malicious must be 0..{self.trainers}, got {self.malicious}")
        if self.attack not in names():
            raise ConfigError(f"unknown attack {self.attack!r}; known: {', '.join(names())}")
        if self.rounds < 1:
            raise ConfigError(f"--rounds must be at least 1, got {self.rounds}")
        if self.byzantine is not None and self.byzantine < 0:
            raise ConfigError(f"--f must not be negative, got {self.byzantine}")
        if self.rule not in AGGREGATION_RULES:
            raise ConfigError(f"--rule must be one of {', '.join(AGGREGATION_RULES)}, "
                              f"got {self.rule!r}")
        check_rule_params(self.rule, self.rule_params)
        needed = max(3, rule_minimum_trainers(self.rule, self.rule_params))
        if self.trainers < needed:
            f = f" with --f {self.f}" if self.rule in RULES_WITH_F else ""
            raise ConfigError(f"--rule {self.rule}{f} needs at least {needed} trainers, "
                              f"got {self.trainers}")
        if not 1 <= self.quorum <= len(VERIFIERS):
            raise ConfigError(f"--quorum must be 1..{len(VERIFIERS)}, got {self.quorum}")
        if self.model not in MODEL_INPUT_SHAPES:
            raise ConfigError(f"--model must be one of {', '.join(MODEL_INPUT_SHAPES)}, "
                              f"got {self.model!r}")
        if self.example not in EXAMPLE_NAMES:
            raise ConfigError(f"--example must be one of {', '.join(EXAMPLE_NAMES)}, "
                              f"got {self.example!r}")
        if self.example != "digits" and self.model != "mlp":
            raise ConfigError(f"--model applies to the digits example; {self.example} brings "
                              f"its own ({get_example(self.example).model})")
        if self.scoring not in SCORINGS:
            raise ConfigError(f"--scoring must be one of {', '.join(SCORINGS)}, "
                              f"got {self.scoring!r}")
        if not (math.isfinite(self.alpha) and self.alpha > 0):
            raise ConfigError(f"--alpha must be a positive number, got {self.alpha}")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ConfigError(f"--timeout must be a positive number of seconds, "
                              f"got {self.timeout}")
        if self.port is not None and not 1 <= self.port <= 65535:
            raise ConfigError(f"--port must be 1..65535, got {self.port}")
        # The owner's own checks (budget, rule parameters, field widths), as `project post`
        # runs them, with placeholder windows (validated separately once sized).
        request = self.project_request(self.windows or PhaseWindows(1, 1, 1, 1))
        check_request(request, dev_account(OWNER).address)
        build_spec(request, validation_cid="validation")
