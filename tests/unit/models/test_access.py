"""Roles and scope: what viewers, analysts and admins may do, and where."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.factories import SHIPPED
from tutka.models.access import Principal, in_scope, may


def test_roles_are_ordered() -> None:
    viewer, analyst, admin = (Principal(name="x", role=r) for r in ("viewer", "analyst", "admin"))
    assert [may(p, "read") for p in (viewer, analyst, admin)] == [True, True, True]
    assert [may(p, "work_cases") for p in (viewer, analyst, admin)] == [False, True, True]
    assert [may(p, "manage_others_subscriptions") for p in (viewer, analyst, admin)] == [
        False, False, True,
    ]  # fmt: skip


def test_ely_scope_covers_everything_under_the_ely_area_only() -> None:
    lappi = Principal(name="aino", role="viewer", scope="ELY15")
    assert all(in_scope(lappi, code, (), SHIPPED) for code in ("ELY15", "MK19", "SK192", "KU240"))
    assert not any(in_scope(lappi, code, (), SHIPPED) for code in ("SSS", "ELY01", "KU091"))
    # An area gone from the hierarchy is judged by the parents the alert carries.
    assert in_scope(lappi, "KU999", ("SK192", "MK19", "ELY15", "SSS"), SHIPPED)
    assert not in_scope(lappi, "KU999", ("ELY01", "SSS"), SHIPPED)


def test_national_staff_see_everything() -> None:
    tem = Principal(name="t", role="viewer")
    assert tem.national and tem.organisation == "TEM"
    assert in_scope(tem, "KU240", (), SHIPPED) and in_scope(tem, "SSS", (), SHIPPED)


@pytest.mark.parametrize(
    "fields",
    [
        {"scope": "ELY20"},
        {"scope": "MK19"},
        {"role": "root"},
        {"scope": "ELY15", "organisation": "ELY01"},
    ],
)
def test_bad_principals_are_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Principal.model_validate({"name": "x", "role": "viewer", **fields})
