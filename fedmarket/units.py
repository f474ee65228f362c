"""Ether amounts on the command line, wei everywhere else — converted exactly, never as floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fedmarket.errors import ConfigError

__all__ = ["ether_to_wei", "wei_to_ether"]


def ether_to_wei(text: str | float, what: str = "amount") -> int:
    """Parse an ether amount exactly (``0.5`` -> 500000000000000000 wei)."""
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise ConfigError(f"{what} {text!r} is not a number of ether") from None
    if not value.is_finite() or value < 0:
        raise ConfigError(f"{what} must be a non-negative number of ether, got {text!r}")
    wei = value * 10**18
    if wei != wei.to_integral_value():
        raise ConfigError(f"{what} {text!r} has more than 18 decimals")
    return int(wei)


def wei_to_ether(wei: int) -> str:
    """Format wei as ether without float rounding."""
    text = f"{Decimal(wei) / Decimal(10**18):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
