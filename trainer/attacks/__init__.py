"""Simulated adversaries for the demo, the robustness benchmark and the tests.

Each attack lives in its own module behind one interface (:class:`~trainer.attacks.base.Attack`)
and is registered here by name; build one with ``get(name, **params)`` and hand it to
``trainer.local_training.train_local(..., attack=...)``. Nothing enables an attack implicitly:
``attack`` defaults to ``None`` everywhere, and a real trainer never passes one.

=============  =========================================================================
``sign_flip``  the negated honest update
``scaled``     ``factor`` × the honest update (model replacement, Bagdasaryan et al. 2020)
``gaussian``   Gaussian noise (Blanchard et al. 2017)
``label_flip`` trains on labels ``y -> C-1-y`` (Tolpegin et al. 2020)
``alie``       ``mean - z·std`` of honest updates (Baruch et al. 2019)
``ipm``        ``-ε · mean`` of honest updates (Xie et al. 2020)
``free_rider`` zeros, or a copy of the global model (Lin et al. 2019)
``copycat``    another trainer's revealed update
``min_max``    ``mu + gamma·p`` within the honest max distance (Shejwalkar & Houmansadr 2021)
``min_sum``    the same within an honest update's summed squared distances
``fang_krum``  ``-lambda·sign(mu)`` that Krum still selects (Fang et al. 2020)
``fang_trmean`` values past the honest extremes, against ``sign(mu)``: Fang et al. 2020 on
               trimmed mean and median
``backdoor``   trains on a 2×2 trigger patch relabelled to a target (Bagdasaryan et al. 2020)
=============  =========================================================================

Several accounts per party (Sybils) and inflated sample counts are not delta transformations;
:mod:`trainer.federation` simulates them.
"""

from __future__ import annotations

from typing import Any

from fedmarket.errors import ConfigError
from trainer.attacks.alie import ALIE
from trainer.attacks.backdoor import Backdoor
from trainer.attacks.base import Attack, AttackContext, Delta
from trainer.attacks.copycat import Copycat
from trainer.attacks.fang_krum import FangKrum
from trainer.attacks.fang_trmean import FangTrimmedMean
from trainer.attacks.free_rider import FreeRider
from trainer.attacks.gaussian import Gaussian
from trainer.attacks.ipm import IPM
from trainer.attacks.label_flip import LabelFlip
from trainer.attacks.min_max import MinMax
from trainer.attacks.min_sum import MinSum
from trainer.attacks.scaled import Scaled
from trainer.attacks.sign_flip import SignFlip

__all__ = ["Attack", "AttackContext", "Delta", "ATTACKS", "get", "names"]

ATTACKS: dict[str, type[Attack]] = {
    cls.name: cls for cls in (SignFlip, Scaled, Gaussian, LabelFlip, ALIE, IPM, FreeRider, Copycat,
                              MinMax, MinSum, FangKrum, FangTrimmedMean, Backdoor)
}


def names() -> list[str]:
    """Registered attack names."""
    return sorted(ATTACKS)


def get(name: str, **params: Any) -> Attack:
    """Build the attack registered as ``name``; a bad name or parameter is a ConfigError."""
    try:
        cls = ATTACKS[name]
    except KeyError:
        raise ConfigError(f"unknown attack {name!r}; known: {', '.join(names())}") from None
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"attack {name!r}: {exc}") from exc
