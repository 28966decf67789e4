"""The area hierarchy (tutka/models/areas.py) and loading it (tutka/config/areas.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.shared_data import SHARED_FI
from tutka.config.areas import demo_hierarchy, load_hierarchy
from tutka.models.areas import Area, Hierarchy, level_depth
from tutka.models.codes import area_level

REGIONS_2024 = SHARED_FI / "regions_2024.csv"
REGIONS_BY_YEAR = SHARED_FI / "regions_by_year_2020_2025.csv"


def raises_exactly(message: str) -> pytest.RaisesExc[ValueError]:
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def area(code: str, parent: str | None, name: str = "nimi") -> Area:
    return Area(code, name, name, name, parent)


LAPLAND = [
    area("SSS", None, "Koko maa"),
    area("ELY15", "SSS"),
    area("MK19", "ELY15"),
    area("SK192", "MK19"),
    area("KU240", "SK192"),
    area("KU851", "SK192"),
]


# ---------------------------------------------------------------------------------------------
# Validation


def test_minimal_hierarchy() -> None:
    h = Hierarchy(LAPLAND)
    assert len(h) == 6
    assert "KU240" in h and "KU091" not in h
    assert h.ancestors("KU240") == ("SK192", "MK19", "ELY15", "SSS")
    assert h.children("SK192") == ("KU240", "KU851")
    assert h.parent("MK19") == "ELY15"
    assert h.get("KU091") is None


def test_no_country() -> None:
    with raises_exactly("the area hierarchy has no country (SSS)"):
        Hierarchy(LAPLAND[1:])


def test_country_with_a_parent() -> None:
    with raises_exactly("the country SSS cannot have a parent"):
        Hierarchy([area("SSS", "ELY15"), *LAPLAND[1:]])


def test_unknown_parent() -> None:
    with raises_exactly("area KU091 has parent SK011, which is not listed"):
        Hierarchy([*LAPLAND, area("KU091", "SK011")])


def test_missing_parent() -> None:
    with raises_exactly("area MK01 has no parent"):
        Hierarchy([*LAPLAND, area("MK01", None)])


@pytest.mark.parametrize(
    ("code", "parent"),
    [
        ("MK01", "SK192"),
        ("ELY01", "MK19"),
        ("SK011", "KU240"),
        ("KU091", "KU240"),
        ("MK01", "MK19"),
    ],
)
def test_parent_must_be_of_a_broader_level(code: str, parent: str) -> None:
    level = area_level(code)
    with raises_exactly(
        f"area {code} ({level}) cannot lie under {parent}: a parent must be of a broader level"
    ):
        Hierarchy([*LAPLAND, area(code, parent)])


def test_skipping_levels_is_allowed() -> None:
    # A municipality directly under the country is unusual but nests correctly.
    h = Hierarchy([*LAPLAND, area("KU091", "SSS")])
    assert h.ancestors("KU091") == ("SSS",)
    assert h.ely_of("KU091") is None


def test_duplicate_code() -> None:
    with raises_exactly("area KU240 is listed twice"):
        Hierarchy([*LAPLAND, area("KU240", "SK192", "Kemi again")])


def test_invalid_code() -> None:
    with pytest.raises(ValueError, match="area code 'KU24' is not one of"):
        Hierarchy([*LAPLAND, area("KU24", "SK192")])


def test_missing_finnish_name() -> None:
    with raises_exactly("area KU851 has no Finnish name"):
        Hierarchy([*LAPLAND[:-1], Area("KU851", "", "Torneå", "Tornio", "SK192")])


def test_level_depth() -> None:
    assert [level_depth(c) for c in ("SSS", "ELY15", "MK19", "SK192", "KU240")] == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------------------------------------
# The shipped hierarchy


@pytest.fixture(scope="module")
def shipped() -> Hierarchy:
    return load_hierarchy()


def test_shipped_hierarchy_has_every_ely_area_and_region(shipped: Hierarchy) -> None:
    assert shipped.of_level("SSS") == ("SSS",)
    assert shipped.of_level("ELY") == tuple(f"ELY{i:02d}" for i in range(1, 17))
    regions = shipped.of_level("MK")
    assert len(regions) == 19
    assert "MK03" not in regions and "MK20" not in regions
    assert shipped.children("SSS") == shipped.of_level("ELY")


@pytest.mark.parametrize(
    ("code", "ancestors"),
    [
        ("KU091", ("SK011", "MK01", "ELY01", "SSS")),
        ("KU240", ("SK192", "MK19", "ELY15", "SSS")),
        ("KU478", ("SK211", "MK21", "ELY16", "SSS")),
        ("SK171", ("MK17", "ELY13", "SSS")),
        ("MK16", ("ELY12", "SSS")),
        ("ELY04", ("SSS",)),
        ("SSS", ()),
    ],
)
def test_shipped_ancestors(shipped: Hierarchy, code: str, ancestors: tuple[str, ...]) -> None:
    assert shipped.ancestors(code) == ancestors


@pytest.mark.parametrize(
    ("code", "children"),
    [
        ("ELY04", ("MK05", "MK07")),
        ("ELY06", ("MK08", "MK09")),
        ("ELY12", ("MK15", "MK16")),
        ("SK192", ("KU240", "KU241", "KU751", "KU845", "KU851")),
        ("SK011", ("KU049", "KU091", "KU092", "KU106", "KU186", "KU224", "KU235", "KU245",
                   "KU257", "KU444", "KU505", "KU543", "KU611", "KU753", "KU755", "KU858",
                   "KU927")),
        ("KU091", ()),
    ],
)  # fmt: skip
def test_shipped_children(shipped: Hierarchy, code: str, children: tuple[str, ...]) -> None:
    assert shipped.children(code) == children


def test_the_shipped_classification_has_every_current_municipality(shipped: Hierarchy) -> None:
    municipalities = shipped.of_level("KU")
    assert len(municipalities) == 309 and len(shipped.of_level("SK")) == 69
    kemi = shipped.get("KU240")
    assert kemi is not None and (kemi.name_fi, kemi.name_sv) == ("Kemi", "Kemi")
    pargas = shipped.get("KU445")
    assert pargas is not None and (pargas.name_fi, pargas.name_sv) == ("Parainen", "Pargas")


def test_the_demo_world_is_a_small_subset() -> None:
    demo = demo_hierarchy()
    assert len(demo.of_level("KU")) == 39
    assert demo.children("SK192") == ("KU240", "KU751", "KU851")
    assert set(demo.areas) <= set(load_hierarchy().areas)


@pytest.mark.parametrize(
    ("ancestor", "code", "expected"),
    [
        ("ELY15", "KU240", True),
        ("MK19", "KU240", True),
        ("SSS", "KU240", True),
        ("KU240", "KU240", True),
        ("KU240", "ELY15", False),
        ("MK01", "KU240", False),
        ("ELY04", "MK07", True),
        ("ELY04", "MK06", False),
        ("SK192", "KU091", False),
        ("SSS", "KU999", False),  # not in the hierarchy
    ],
)
def test_shipped_contains(shipped: Hierarchy, ancestor: str, code: str, expected: bool) -> None:
    assert shipped.contains(ancestor, code) is expected


@pytest.mark.parametrize(
    ("code", "ely"),
    [
        ("KU091", "ELY01"),
        ("KU478", "ELY16"),
        ("SK142", "ELY11"),
        ("MK07", "ELY04"),
        ("ELY05", "ELY05"),
        ("SSS", None),
    ],
)
def test_shipped_ely_of(shipped: Hierarchy, code: str, ely: str | None) -> None:
    assert shipped.ely_of(code) == ely


def test_every_shipped_area_below_the_country_has_an_ely(shipped: Hierarchy) -> None:
    for code in shipped.areas:
        if code != "SSS":
            assert shipped.ely_of(code) is not None, code
            assert shipped.contains("SSS", code)


def test_unknown_file_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read area file"):
        load_hierarchy(tmp_path / "absent.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="has columns \\['a', 'b'\\]"):
        load_hierarchy(bad)


# ---------------------------------------------------------------------------------------------
# Statistics Finland correspondence files (../shared/data/fi)


def _assert_full_chains(h: Hierarchy) -> None:
    for code in h.of_level("KU"):
        chain = h.ancestors(code)
        assert [area_level(a) for a in chain] == ["SK", "MK", "ELY", "SSS"], (code, chain)


@pytest.mark.shared_data
@pytest.mark.skipif(not REGIONS_2024.exists(), reason=f"shared data file {REGIONS_2024} is absent")
def test_regions_2024() -> None:
    h = load_hierarchy(REGIONS_2024)
    assert len(h.of_level("KU")) == 309
    assert len(h.of_level("MK")) == 19
    assert len(h.of_level("ELY")) == 16
    _assert_full_chains(h)
    assert h.ancestors("KU091") == ("SK011", "MK01", "ELY01", "SSS")
    assert h.ancestors("KU478") == ("SK211", "MK21", "ELY16", "SSS")
    assert h.areas["KU091"].name_sv == "Helsingfors"
    assert h.areas["MK19"].name_en == "Lapland"  # region names come from the shipped file


@pytest.mark.shared_data
@pytest.mark.skipif(
    not REGIONS_BY_YEAR.exists(), reason=f"shared data file {REGIONS_BY_YEAR} is absent"
)
@pytest.mark.parametrize(
    ("year", "municipalities"), [(2020, 310), (2024, 309), (2025, 308), (None, 308)]
)
def test_regions_by_year(year: int | None, municipalities: int) -> None:
    h = load_hierarchy(REGIONS_BY_YEAR, year=year)
    assert len(h.of_level("KU")) == municipalities
    _assert_full_chains(h)


@pytest.mark.shared_data
@pytest.mark.skipif(
    not REGIONS_BY_YEAR.exists(), reason=f"shared data file {REGIONS_BY_YEAR} is absent"
)
def test_regions_by_year_rejects_a_missing_year() -> None:
    with pytest.raises(
        ValueError, match="has years \\[2020, 2021, 2022, 2023, 2024, 2025\\], not 2019"
    ):
        load_hierarchy(REGIONS_BY_YEAR, year=2019)
