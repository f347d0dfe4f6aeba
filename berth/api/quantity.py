"""Kubernetes resource quantities (``500m``, ``128Mi``, ``1e3``) as exact numbers.

Validation checks that requests and limits parse and that requests do not
exceed limits; the scheduler adds them up; the node agent turns them into
cgroup values. All of them go through ``parse_quantity``, which returns an
exact ``Fraction`` so ``0.1`` and ``100m`` compare equal, and the rounding
helpers round up as Kubernetes' ``MilliValue``/``Value`` do.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from berth.api.errors import QuantityError

PATTERN = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
QUANTITY_ERROR = f"quantities must match the regular expression '{PATTERN}'"

_NUMBER = re.compile(r"([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_EXPONENT = re.compile(r"[eE]([+-]?[0-9]+)")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
            "E": 18}


def parse_quantity(text: str | int | float) -> Fraction:
    """The exact value of a quantity; QuantityError if the text is not one."""
    if isinstance(text, bool):
        raise QuantityError(QUANTITY_ERROR)
    if isinstance(text, int | float):
        return Fraction(text)
    value = text.strip()
    match = _NUMBER.match(value)
    if not match or value != text:
        raise QuantityError(QUANTITY_ERROR)
    sign, digits = match.groups()
    number = Fraction(digits)
    if sign == "-":
        number = -number
    suffix = value[match.end():]
    if suffix in _BINARY:
        return number * (2 ** _BINARY[suffix])
    if suffix in _DECIMAL:
        return number * Fraction(10) ** _DECIMAL[suffix]
    exponent = _EXPONENT.fullmatch(suffix)
    if exponent:
        return number * Fraction(10) ** int(exponent.group(1))
    raise QuantityError(QUANTITY_ERROR)


def is_quantity(text: object) -> bool:
    if not isinstance(text, str | int | float) or isinstance(text, bool):
        return False
    try:
        parse_quantity(text)
    except QuantityError:
        return False
    return True


def to_milli(text: str | int | float) -> int:
    """The value in thousandths, rounded up (CPU ``500m`` -> 500, ``1`` -> 1000)."""
    return math.ceil(parse_quantity(text) * 1000)


def to_int(text: str | int | float) -> int:
    """The value as an integer, rounded up (memory ``1Ki`` -> 1024)."""
    return math.ceil(parse_quantity(text))
