"""Resource quantities parse exactly; metadata helpers produce Kubernetes' formats."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest

from berth.api import meta
from berth.api.errors import QuantityError
from berth.api.quantity import is_quantity, parse_quantity, to_int, to_milli


@pytest.mark.parametrize(("text", "value"), [
    ("100m", Fraction(1, 10)), ("0.1", Fraction(1, 10)), ("1", 1), ("1Ki", 1024),
    ("128Mi", 128 * 2**20), ("1Gi", 2**30), ("2k", 2000), ("1M", 10**6), ("1G", 10**9),
    ("1e3", 1000), ("1E-3", Fraction(1, 1000)), ("1.5", Fraction(3, 2)), ("-2", -2),
    ("500u", Fraction(5, 10**4)), ("1T", 10**12), (".5", Fraction(1, 2)),
])
def test_parse_quantity(text: str, value: Fraction | int) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1Qi", "1 Gi", " 1", "1.2.3", "Mi", "1ki"])
def test_bad_quantities(text: str) -> None:
    with pytest.raises(QuantityError, match="quantities must match the regular expression"):
        parse_quantity(text)
    assert not is_quantity(text)


def test_rounding_helpers_round_up() -> None:
    assert to_milli("0.5") == 500
    assert to_milli("1") == 1000
    assert to_milli("1u") == 1
    assert to_int("1.5") == 2
    assert to_int("64Mi") == 64 * 2**20


def test_times_and_keys() -> None:
    moment = datetime(2024, 5, 1, 12, 0, 3, 123456, tzinfo=UTC)
    assert meta.now(lambda: moment) == "2024-05-01T12:00:03Z"
    assert meta.now_micro(lambda: moment) == "2024-05-01T12:00:03.123456Z"
    assert meta.parse_time("2024-05-01T12:00:03Z") == moment.replace(microsecond=0)
    with pytest.raises(ValueError):
        meta.parse_time("2024-05-01T12:00:03")
    obj = {"metadata": {"name": "a", "namespace": "ns", "uid": "u"},
           "apiVersion": "v1", "kind": "Pod"}
    assert meta.object_key(obj) == ("ns", "a")
    assert meta.display_name(obj) == "ns/a"
    ref = meta.owner_reference(obj)
    assert ref["uid"] == "u" and ref["controller"] is True
    assert meta.controller_of({"metadata": {"ownerReferences": [ref]}}) == ref
    assert meta.new_uid() != meta.new_uid()
    assert len(meta.new_uid()) == 36
