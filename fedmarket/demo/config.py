"""Demo settings with defaults that finish a convincing market in a few minutes on 2 cores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fedmarket.errors import ConfigError

__all__ = ["DemoConfig", "OWNER", "AGGREGATOR", "VERIFIERS", "FIRST_TRAINER"]

# Local dev accounts by role (anvil's public keys): 0 deploys.
OWNER = 1
AGGREGATOR = 2
VERIFIERS = (3, 4, 5)
FIRST_TRAINER = 6


@dataclass(frozen=True)
class DemoConfig:
    """What ``fedmarket demo`` runs."""

    data_dir: Path = Path(".fedmarket")
    trainers: int = 8
    malicious: int = 2
    attack: str = "sign_flip"
    rounds: int = 3
    budget_ether: str = "10"
    # Dirichlet alpha of the non-IID split: 0.5 gives each trainer a visibly skewed label mix.
    alpha: float = 0.5
    model: str = "mlp"
    # Multi-Krum's f; None = the most the trainer count tolerates, floor((n - 3) / 2).
    byzantine: int | None = None
    scoring: str = "gtg_shapley"
    seed: int = 7
    # Phase lengths in seconds, each at least the deployment's 60-second floor. Commit and
    # reveal close early once every trainer acted, and a round settles as soon as two of the
    # three committee seats agree, so an honest round waits out none of them.
    commit_seconds: int = 90
    reveal_seconds: int = 60
    aggregate_seconds: int = 120
    verify_seconds: int = 60
    quorum: int = 2
    timeout: float = 900.0
    port: int | None = None

    @property
    def f(self) -> int:
        """Multi-Krum's assumed number of Byzantine trainers."""
        return self.byzantine if self.byzantine is not None else max(0, (self.trainers - 3) // 2)

    def validate(self) -> None:
        """Refuse settings the market cannot run, naming the setting."""
        if not 1 <= self.trainers <= 34:
            raise ConfigError(f"--trainers must be 1..34 (dev accounts), got {self.trainers}")
        if not 0 <= self.malicious <= self.trainers:
            raise ConfigError(f"--malicious must be 0..{self.trainers}, got {self.malicious}")
        if self.rounds < 1:
            raise ConfigError(f"--rounds must be at least 1, got {self.rounds}")
        if self.trainers < 2 * self.f + 3:
            raise ConfigError(f"multi_krum with f={self.f} needs at least {2 * self.f + 3} "
                              f"trainers, got {self.trainers}")
        if self.quorum > len(VERIFIERS):
            raise ConfigError(f"--quorum must be at most {len(VERIFIERS)}")
