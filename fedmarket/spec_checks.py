"""Field checks of the model spec's JSON: each failure one :class:`ConfigError` naming the field.

Kept apart from :mod:`fedmarket.modelspec` so the spec module holds what a spec *is*, and this
one how its untrusted JSON is checked (the spec is written by owners, read by everyone).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from fedmarket.errors import ConfigError

__all__ = ["Param", "check_keys", "section", "positive_int", "finite", "int_tuple",
           "string_params"]

Param = bool | int | float | str
_PARAM_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def check_keys(
    where: str, data: Mapping[str, Any], allowed: tuple[str, ...], required: tuple[str, ...] = ()
) -> None:
    """Refuse unknown keys (listing the allowed ones) and missing required ones."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError(f"{where} has unknown field(s) {unknown}; allowed: {list(allowed)}")
    missing = [key for key in required if key not in data]
    if missing:
        raise ConfigError(f"{where} is missing required field(s) {missing}")


def section(where: str, value: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    """A JSON object section with only ``allowed`` keys, as a plain dict."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a JSON object, got {type(value).__name__}")
    check_keys(where, value, allowed)
    return dict(value)


def positive_int(name: str, value: Any) -> None:
    """Refuse anything but an integer >= 1 (booleans included: JSON true is not 1 here)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def finite(name: str, value: Any, *, positive: bool = False, minimum: float | None = None) -> None:
    """Refuse non-numbers, NaN and infinities, and values below the bounds asked for."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise ConfigError(f"{name} must be > 0, got {value}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")


def int_tuple(name: str, value: Any) -> tuple[int, ...]:
    """A list of positive integers as a tuple (so equal specs compare and hash equal)."""
    if isinstance(value, str | bytes) or not isinstance(value, tuple | list):
        raise ConfigError(f"{name} must be a list of integers, got {value!r}")
    for item in value:
        positive_int(name, item)
    return tuple(value)


def string_params(name: str, params: Any) -> None:
    """Refuse params that are not snake_case keys with number, string or boolean values."""
    if not isinstance(params, Mapping):
        raise ConfigError(f"{name} must be a JSON object, got {type(params).__name__}")
    for key, value in params.items():
        if not isinstance(key, str) or not _PARAM_KEY.match(key):
            raise ConfigError(f"{name} key {key!r} must be a snake_case identifier")
        if not isinstance(value, bool | int | float | str):
            raise ConfigError(
                f"{name}.{key} must be a number, string or boolean, got {type(value).__name__}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{name}.{key} must be finite, got {value}")
