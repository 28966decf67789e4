"""Subscriptions: validation, scope, matching, folding changes (tutka/models/subscriptions.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.factories import alert
from tutka.config.areas import load_hierarchy
from tutka.models.alerts import (
    AlertKind,
    Polarity,
    Severity,
)
from tutka.models.subscriptions import (
    SUBSCRIPTION_CHANGE,
    ScopeError,
    Subscription,
    SubscriptionBook,
    SubscriptionRemoved,
    SubscriptionUpserted,
    apply_change,
    check_scope,
    effective_areas,
    fold_changes,
    matches,
)

H = load_hierarchy()
CREATED = date(2024, 1, 15)


def subscription(**overrides: Any) -> Subscription:
    fields: dict[str, Any] = {
        "id": "lappi-all",
        "owner": "ELY15",
        "delivery": {"type": "kafka"},
        "created": CREATED,
    }
    fields.update(overrides)
    return Subscription.model_validate(fields)


def payload(**overrides: Any) -> dict[str, Any]:
    """A subscription as it arrives in JSON, every field set."""
    data: dict[str, Any] = {
        "schema_version": 1,
        "id": "lappi-paper",
        "owner": "ELY15",
        "scope": "own",
        "filters": {
            "areas": ["MK19"],
            "sectors": ["17"],
            "occupations": ["8171"],
            "kinds": ["layoff_notices"],
            "polarity": "negative",
            "min_severity": "warning",
        },
        "delivery": {"type": "webhook", "url": "https://hooks.example.fi/tutka"},
        "created": "2024-01-15",
        "revision": 3,
    }
    data.update(overrides)
    return data


def error_types(exc: ValidationError) -> set[tuple[str, ...]]:
    return {(*(str(p) for p in e["loc"]), e["type"]) for e in exc.errors()}


# ---------------------------------------------------------------------------------------------
# Validation


def test_a_full_payload_validates_and_round_trips_through_json() -> None:
    sub = Subscription.model_validate(payload())
    assert sub.filters.min_severity is Severity.WARNING
    assert sub.filters.kinds == (AlertKind.LAYOFF_NOTICES,)
    assert sub.topic is None  # a webhook has no topic
    assert Subscription.model_validate_json(sub.model_dump_json()) == sub


def test_defaults_are_own_scope_any_filter_and_watch() -> None:
    sub = subscription()
    assert (sub.scope, sub.revision, sub.schema_version) == ("own", 0, 1)
    assert sub.filters.areas == sub.filters.sectors == sub.filters.kinds == ()
    assert sub.filters.polarity is None and sub.filters.min_severity is Severity.WATCH


def test_a_kafka_subscription_has_a_versioned_topic_named_by_its_id() -> None:
    assert subscription(id="lappi-all").topic == "tutka.alerts.sub.lappi-all.v1"


@pytest.mark.parametrize(
    "bad_id",
    ["Lappi", "-lappi", "a", "lappi_all", "lappi.all", "lappi all", "x" * 64, "äänekoski"],
)
def test_an_id_must_be_a_slug(bad_id: str) -> None:
    with pytest.raises(ValidationError) as info:
        Subscription.model_validate(payload(id=bad_id))
    assert error_types(info.value) == {("id", "string_pattern_mismatch")}


@pytest.mark.parametrize("good_id", ["ab", "lappi-paper-2024", "0x", "a" * 63])
def test_slugs_are_accepted(good_id: str) -> None:
    assert Subscription.model_validate(payload(id=good_id)).id == good_id


@pytest.mark.parametrize("owner", ["ELY01", "ELY19", "TEM", "KEHA", "TE-PALVELUT"])
def test_owners_are_ely_centres_or_national_bodies(owner: str) -> None:
    assert subscription(owner=owner).owner == owner


@pytest.mark.parametrize("owner", ["ely15", "ELY00", "ELY20", "ELY1", "T", "tem", "TEM!"])
def test_other_owners_are_refused(owner: str) -> None:
    with pytest.raises(ValidationError) as info:
        subscription(owner=owner)
    assert {loc[0] for loc in error_types(info.value)} == {"owner"}


def test_an_ely_lookalike_owner_gets_a_message_naming_the_range() -> None:
    with pytest.raises(ValidationError, match="ELY01-ELY19"):
        subscription(owner="ELY20")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.fi/tutka",
        "hooks.example.fi/tutka",
        "not a url",
        "https://",
        "mailto:ely@example.fi",
    ],
)
def test_a_webhook_url_must_be_http_or_https(url: str) -> None:
    with pytest.raises(ValidationError) as info:
        Subscription.model_validate(payload(delivery={"type": "webhook", "url": url}))
    assert {loc[:3] for loc in error_types(info.value)} == {("delivery", "webhook", "url")}


def test_a_webhook_url_must_not_carry_credentials_nor_echo_them() -> None:
    secret = {"type": "webhook", "url": "https://ely:s3cret@hooks.example.fi/"}
    with pytest.raises(ValidationError, match="must not carry credentials") as info:
        Subscription.model_validate(payload(delivery=secret))
    assert "s3cret" not in str(info.value)
    with pytest.raises(ValidationError) as info:
        SUBSCRIPTION_CHANGE.validate_python(
            {"type": "upsert", "subscription": payload(delivery=secret)}
        )
    assert "s3cret" not in str(info.value)


def test_a_webhook_needs_a_url_and_delivery_needs_a_known_type() -> None:
    with pytest.raises(ValidationError) as info:
        Subscription.model_validate(payload(delivery={"type": "webhook"}))
    assert error_types(info.value) == {("delivery", "webhook", "url", "missing")}
    with pytest.raises(ValidationError) as info:
        Subscription.model_validate(payload(delivery={"type": "email", "to": "x@example.fi"}))
    assert error_types(info.value) == {("delivery", "union_tag_invalid")}


@pytest.mark.parametrize(
    ("where", "data"),
    [
        ((), payload(colour="red")),
        (("filters",), payload(filters={"areas": [], "regions": ["MK19"]})),
        (("delivery", "kafka"), payload(delivery={"type": "kafka", "topic": "mine"})),
    ],
)
def test_unknown_fields_are_refused(where: tuple[str, ...], data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        Subscription.model_validate(data)
    ((*loc, kind),) = error_types(info.value)
    assert kind == "extra_forbidden" and tuple(loc[:-1]) == where


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"areas": ["KU24"]}, "areas"),
        ({"sectors": ["Z"]}, "sectors"),
        ({"sectors": ["1"]}, "sectors"),
        ({"occupations": ["72121"]}, "occupations"),
        ({"kinds": ["weather"]}, "kinds"),
        ({"polarity": "neutral"}, "polarity"),
        ({"min_severity": "info"}, "min_severity"),
    ],
)
def test_filter_values_are_validated(filters: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        subscription(filters=filters)
    assert {loc[:2] for loc in error_types(info.value)} == {("filters", field)}


def test_subscriptions_are_frozen() -> None:
    sub = subscription()
    with pytest.raises(ValidationError):
        sub.scope = "national"  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# Scope


def test_an_ely_centre_may_cover_its_own_area_and_anything_under_it() -> None:
    check_scope(subscription(), H)
    check_scope(subscription(filters={"areas": ["ELY15", "MK19", "SK192", "KU240"]}), H)


def test_an_ely_centre_covering_another_ely_area_is_refused_naming_both() -> None:
    sub = subscription(id="lappi-helsinki", filters={"areas": ["KU240", "KU091"]})
    with pytest.raises(ScopeError) as info:
        check_scope(sub, H)
    message = str(info.value)
    assert "KU091 (Helsinki)" in message and "ELY15 (Lappi)" in message
    assert "'lappi-helsinki'" in message and "KU240" not in message.split("remove")[0]
    assert 'declare scope "national"' in message and "remove KU091" in message


def test_the_country_is_outside_every_ely_area() -> None:
    with pytest.raises(ScopeError, match="SSS"):
        check_scope(subscription(filters={"areas": ["SSS"]}), H)


def test_an_explicit_national_scope_may_cover_any_area_for_any_owner() -> None:
    check_scope(subscription(scope="national", filters={"areas": ["KU091", "KU240"]}), H)
    check_scope(subscription(owner="TEM", scope="national"), H)
    check_scope(subscription(owner="KEHA", scope="national", filters={"areas": ["SSS"]}), H)


def test_a_non_ely_owner_must_declare_national_scope() -> None:
    with pytest.raises(ScopeError, match=r'TEM is not an ELY centre.*declare scope "national"'):
        check_scope(subscription(owner="TEM"), H)


def test_areas_unknown_to_the_hierarchy_are_refused_whatever_the_scope() -> None:
    # KU999 has the shape of a municipality code but no municipality has it.
    for scope in ("own", "national"):
        with pytest.raises(ScopeError, match="area KU999 is not in the area hierarchy"):
            check_scope(subscription(scope=scope, filters={"areas": ["KU240", "KU999"]}), H)


def test_an_ely_owner_missing_from_the_hierarchy_is_refused() -> None:
    with pytest.raises(ScopeError, match=r"ELY19 is not in the area hierarchy \(it has ELY01-"):
        check_scope(subscription(owner="ELY19"), H)


def test_scope_errors_are_value_errors() -> None:
    assert issubclass(ScopeError, ValueError)


def test_effective_areas_make_the_empty_filter_explicit() -> None:
    assert effective_areas(subscription()) == ("ELY15",)
    assert effective_areas(subscription(scope="national")) == ("SSS",)
    assert effective_areas(subscription(filters={"areas": ["KU240"]})) == ("KU240",)
    assert effective_areas(subscription(owner="TEM", scope="national")) == ("SSS",)
    # A non-ELY owner without national scope has no own area: it gets nothing, not everything.
    assert effective_areas(subscription(owner="TEM")) == ()


# ---------------------------------------------------------------------------------------------
# Matching


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        ("KU240", True),
        ("KU851", True),
        ("SK192", True),
        ("MK19", True),
        ("ELY15", True),
        ("MK01", False),
        ("KU091", False),
        ("ELY01", False),
        ("SSS", False),
    ],
)
def test_an_ely_subscription_matches_alerts_anywhere_under_its_area(
    area: str, expected: bool
) -> None:
    assert matches(subscription(), alert(area), H) is expected


def test_an_area_filter_includes_what_lies_under_it_but_not_above() -> None:
    sub = subscription(filters={"areas": ["SK192"]})
    assert matches(sub, alert("KU240"), H) and matches(sub, alert("SK192"), H)
    assert not matches(sub, alert("MK19"), H)
    assert not matches(sub, alert("KU698"), H)  # Rovaniemi: same region, other sub-region


def test_a_national_subscription_sees_the_whole_country() -> None:
    sub = subscription(owner="TEM", scope="national")
    assert all(matches(sub, alert(a), H) for a in ("SSS", "ELY01", "MK01", "KU091", "KU240"))


def test_own_scope_is_enforced_when_matching_too() -> None:
    # Built without validation, as if check_scope had been skipped: Helsinki must not leak.
    leaky = subscription().model_copy(
        update={"filters": subscription(scope="national", filters={"areas": ["KU091"]}).filters}
    )
    assert not matches(leaky, alert("KU091"), H)
    assert not matches(subscription(owner="TEM"), alert("SSS"), H)


def test_also_in_does_not_widen_a_match() -> None:
    national = alert("SSS", also_in=("MK19", "ELY15", "KU240"))
    assert not matches(subscription(), national, H)
    folded = alert("KU091", also_in=("KU240",))
    assert not matches(subscription(filters={"areas": ["KU240"]}), folded, H)


def test_an_alert_from_an_area_the_hierarchy_no_longer_has_matches_by_its_parents() -> None:
    merged = alert("KU240").model_copy(update={"area": "KU999", "region": "KU999"})
    assert matches(subscription(), merged, H)
    assert matches(subscription(filters={"areas": ["SK192"]}), merged, H)
    assert not matches(subscription(owner="ELY01"), merged, H)


@pytest.mark.parametrize(
    ("wanted", "sector", "expected"),
    [
        ("C", "C", True),
        ("C", "17", True),
        ("C", "171", True),
        ("C", "17110", True),
        ("C", "10", True),
        ("C", "33", True),
        ("C", "35", False),
        ("C", "J", False),
        ("17", "17", True),
        ("17", "1711", True),
        ("17", "C", False),
        ("17", "18", False),
        ("171", "17", False),
        ("C", None, False),
        ("17", None, False),
        ("C", "not-a-code", False),
    ],
)
def test_sector_filter_by_section_letter_or_code(
    wanted: str, sector: str | None, expected: bool
) -> None:
    sub = subscription(filters={"sectors": [wanted]})
    assert matches(sub, alert(sector=sector), H) is expected


def test_several_sectors_match_any_of_them() -> None:
    sub = subscription(filters={"sectors": ["A", "17"]})
    assert matches(sub, alert(sector="02"), H) and matches(sub, alert(sector="1712"), H)
    assert not matches(sub, alert(sector="62"), H)


@pytest.mark.parametrize(
    ("wanted", "occupation", "expected"),
    [
        ("7", "7212", True),
        ("72", "7212", True),
        ("721", "7212", True),
        ("7212", "7212", True),
        ("72", "73", False),
        ("7212", "72", False),
        ("72", None, False),
        ("X123", "X123", True),
    ],
)
def test_occupation_filter_matches_by_isco_prefix(
    wanted: str, occupation: str | None, expected: bool
) -> None:
    sub = subscription(filters={"occupations": [wanted]})
    assert matches(sub, alert(occupation=occupation), H) is expected


def test_kind_filter() -> None:
    sub = subscription(filters={"kinds": ["layoff_notices", "temporary_layoffs"]})
    assert matches(sub, alert(kind=AlertKind.LAYOFF_NOTICES), H)
    assert matches(sub, alert(kind=AlertKind.TEMPORARY_LAYOFFS), H)
    assert not matches(sub, alert(kind=AlertKind.VACANCIES), H)


def test_polarity_filter() -> None:
    sub = subscription(filters={"polarity": "positive"})
    assert matches(sub, alert(polarity=Polarity.POSITIVE), H)
    assert not matches(sub, alert(polarity=Polarity.NEGATIVE), H)
    assert matches(subscription(), alert(polarity=Polarity.POSITIVE), H)


@pytest.mark.parametrize(
    ("minimum", "severity", "expected"),
    [
        ("watch", Severity.WATCH, True),
        ("watch", Severity.CRITICAL, True),
        ("warning", Severity.WATCH, False),
        ("warning", Severity.WARNING, True),
        ("warning", Severity.CRITICAL, True),
        ("critical", Severity.WARNING, False),
        ("critical", Severity.CRITICAL, True),
    ],
)
def test_min_severity(minimum: str, severity: Severity, expected: bool) -> None:
    sub = subscription(filters={"min_severity": minimum})
    assert matches(sub, alert(severity=severity), H) is expected


def test_all_filters_must_hold_together() -> None:
    sub = subscription(
        filters={
            "areas": ["SK192"],
            "sectors": ["C"],
            "kinds": ["layoff_notices"],
            "min_severity": "warning",
        }
    )
    hit = {"sector": "17", "kind": AlertKind.LAYOFF_NOTICES, "severity": Severity.WARNING}
    assert matches(sub, alert("KU240", **hit), H)
    assert not matches(sub, alert("KU698", **hit), H)
    assert not matches(sub, alert("KU240", **{**hit, "sector": "J"}), H)
    assert not matches(sub, alert("KU240", **{**hit, "kind": AlertKind.UNEMPLOYMENT}), H)
    assert not matches(sub, alert("KU240", **{**hit, "severity": Severity.WATCH}), H)


# ---------------------------------------------------------------------------------------------
# Changes and folding


def upsert(revision: int = 0, **overrides: Any) -> SubscriptionUpserted:
    return SubscriptionUpserted(subscription=subscription(revision=revision, **overrides))


def removal(revision: int, sid: str = "lappi-all") -> SubscriptionRemoved:
    return SubscriptionRemoved(id=sid, revision=revision, removed=date(2024, 6, 1))


def test_upserts_add_and_a_higher_revision_updates() -> None:
    book, outcome = apply_change(SubscriptionBook(), upsert(0))
    assert outcome == "added" and book.subscriptions["lappi-all"].revision == 0
    book, outcome = apply_change(book, upsert(1, filters={"min_severity": "critical"}))
    assert outcome == "updated"
    assert book.subscriptions["lappi-all"].filters.min_severity is Severity.CRITICAL


def test_a_lower_revision_is_stale_and_the_same_change_is_a_duplicate() -> None:
    book = fold_changes([upsert(2)])
    assert apply_change(book, upsert(1, scope="national")) == (book, "stale")
    assert apply_change(book, upsert(2)) == (book, "duplicate")
    assert apply_change(book, upsert(2, scope="national")) == (book, "conflict")


def test_a_removal_removes_and_wins_a_tie() -> None:
    book = fold_changes([upsert(2)])
    assert apply_change(book, removal(1)) == (book, "stale")
    book, outcome = apply_change(book, removal(2))
    assert outcome == "removed" and "lappi-all" not in book.subscriptions
    assert book.revision("lappi-all") == 2
    assert apply_change(book, removal(2)) == (book, "duplicate")


def test_a_removed_subscription_is_not_brought_back_by_an_old_upsert() -> None:
    book = fold_changes([upsert(0), removal(3), upsert(1), upsert(3)])
    assert book.subscriptions == {}
    book, outcome = apply_change(book, upsert(4))
    assert outcome == "added" and book.subscriptions["lappi-all"].revision == 4
    assert "lappi-all" not in book.removed


def test_a_removal_of_an_unknown_id_is_remembered() -> None:
    book = fold_changes([removal(5, "later"), upsert(4, id="later")])
    assert book.subscriptions == {} and book.removed == {"later": 5}


def test_fold_keeps_the_latest_per_id_across_ids() -> None:
    changes: list[SubscriptionUpserted | SubscriptionRemoved] = [
        upsert(0, id="lappi-all"),
        upsert(0, id="tem-all", owner="TEM", scope="national"),
        upsert(1, id="lappi-all", filters={"kinds": ["vacancies"]}),
        upsert(0, id="lappi-paper", filters={"sectors": ["17"]}),
        removal(0, "lappi-paper"),
    ]
    book = fold_changes(changes)
    assert sorted(book.subscriptions) == ["lappi-all", "tem-all"]
    assert book.subscriptions["lappi-all"].filters.kinds == (AlertKind.VACANCIES,)


def test_folding_leaves_the_input_book_untouched() -> None:
    empty = SubscriptionBook()
    book = fold_changes([upsert(0)], empty)
    assert empty.subscriptions == {} and len(book.subscriptions) == 1
    with pytest.raises(TypeError):
        book.subscriptions["x"] = subscription()  # type: ignore[index]


def test_changes_decode_from_json_by_type() -> None:
    up = upsert(1)
    assert SUBSCRIPTION_CHANGE.validate_json(up.model_dump_json()) == up
    gone = removal(2)
    assert SUBSCRIPTION_CHANGE.validate_json(gone.model_dump_json()) == gone
    with pytest.raises(ValidationError):
        SUBSCRIPTION_CHANGE.validate_json('{"type": "rename", "id": "lappi-all"}')


@given(
    st.lists(
        st.tuples(st.sampled_from(["a-1", "b-2"]), st.integers(0, 4), st.booleans()),
        max_size=12,
    )
)
def test_the_fold_agrees_with_latest_revision_removal_wins(
    steps: list[tuple[str, int, bool]],
) -> None:
    changes: list[SubscriptionUpserted | SubscriptionRemoved] = [
        removal(rev, sid) if is_removal else upsert(rev, id=sid) for sid, rev, is_removal in steps
    ]
    book = fold_changes(changes)
    for sid in ("a-1", "b-2"):
        mine = [(rev, is_removal) for s, rev, is_removal in steps if s == sid]
        if not mine:
            assert book.revision(sid) is None
            continue
        # The highest revision decides; at that revision a removal beats an upsert.
        top = max(rev for rev, _ in mine)
        removed = any(is_removal for rev, is_removal in mine if rev == top)
        assert (sid in book.subscriptions) is not removed
        assert book.revision(sid) == top
