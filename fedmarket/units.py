"""Ether amounts on the command line, wei everywhere else — converted exactly, never as floats.

An amount is parsed as a decimal (``0.5``, ``1e-3``), never through ``float``: ``1e400``,
``nan``, ``inf``, negatives, more than 18 decimals and anything above what a contract amount
field holds (``uint128`` wei, about 3.4e20 ether) are refused with one sentence instead of
being rounded, wrapped or sent.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fedmarket.errors import ConfigError

__all__ = ["ether_to_wei", "wei_to_ether", "MAX_WEI"]

#: Largest amount a contract amount field holds (budgets, bonds and pools are ``uint128``).
MAX_WEI = 2**128 - 1
_DECIMALS = 18


def ether_to_wei(text: str | float, what: str = "amount") -> int:
    """Parse an ether amount exactly (``0.5`` -> 500000000000000000 wei)."""
    raw = str(text).strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigError(f"{what} {text!r} is not a number of ether") from None
    if not value.is_finite():
        raise ConfigError(f"{what} must be a finite number of ether, got {text!r}")
    if value.is_signed() and value != 0:
        raise ConfigError(f"{what} must not be negative, got {text!r}")
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite values have an integer exponent
    coefficient = int("".join(map(str, digits)))
    if coefficient == 0:
        return 0
    # Decide on the exponent before expanding: 1e400 or 1e-400 must not build huge integers.
    if len(digits) + exponent > 40:  # digits before the point: far above MAX_WEI
        raise ConfigError(f"{what} {text!r} is too large (at most {wei_to_ether(MAX_WEI)} ether)")
    shift = exponent + _DECIMALS
    if -shift > len(digits):  # 10**-shift exceeds the coefficient: a fraction of a wei
        rest = 1
    elif shift >= 0:
        wei, rest = coefficient * 10**shift, 0
    else:
        wei, rest = divmod(coefficient, 10**-shift)
    if rest:
        raise ConfigError(f"{what} {text!r} has more than {_DECIMALS} decimals "
                          "(1 wei is 1e-18 ether)")
    if wei > MAX_WEI:
        raise ConfigError(f"{what} {text!r} is too large (at most {wei_to_ether(MAX_WEI)} ether)")
    return wei


def wei_to_ether(wei: int) -> str:
    """Format wei as ether without float rounding."""
    whole, frac = divmod(abs(int(wei)), 10**_DECIMALS)
    sign = "-" if wei < 0 else ""
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:018d}".rstrip("0")
