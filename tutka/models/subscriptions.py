"""Subscriptions: who wants which alerts, and how they receive them.

An ELY centre subscribes to the alerts of its own ELY area, or of areas within it, optionally
narrowed to sectors, occupations, kinds, a polarity and a minimum severity. National bodies (TEM,
KEHA) subscribe with an explicit ``scope="national"``. Alerts go to a per-subscription Kafka topic
or to a signed webhook (the shell side is ``tutka/webhooks.py``).

Subscriptions live on the compacted topic ``tutka.subscriptions.v1``, keyed by id, as
:data:`SubscriptionChange` events; :func:`apply_change` folds them into the current
:class:`SubscriptionBook`. Everything here is pure: no I/O, no clock, no settings.

>>> from datetime import date
>>> from tutka.models.areas import Area, Hierarchy
>>> h = Hierarchy([
...     Area("SSS", "Koko maa", "Hela landet", "Finland", None),
...     Area("ELY01", "Uusimaa", "Nyland", "Uusimaa", "SSS"),
...     Area("MK01", "Uusimaa", "Nyland", "Uusimaa", "ELY01"),
...     Area("ELY15", "Lappi", "Lappland", "Lapland", "SSS"),
...     Area("MK19", "Lappi", "Lappland", "Lapland", "ELY15"),
... ])
>>> paper = Subscription(id="lappi-paper", owner="ELY15", filters={"sectors": ["17"]},
...                      delivery={"type": "kafka"}, created=date(2024, 1, 15))
>>> paper.topic, effective_areas(paper)
('tutka.alerts.sub.lappi-paper.v1', ('ELY15',))
>>> check_scope(paper, h)  # its own ELY area: fine
>>> try:
...     check_scope(paper.model_copy(update={"filters": SubscriptionFilters(areas=("MK01",))}), h)
... except ScopeError as exc:
...     print(str(exc)[:74])
subscription 'lappi-paper' (owner ELY15): area MK01 (Uusimaa) lies outside
>>> sector_matches("C", "1711"), sector_matches("17", "1711"), sector_matches("17", "C")
(True, True, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    TypeAdapter,
)

from tutka.models.alerts import Alert, AlertKind, Polarity, Severity
from tutka.models.areas import COUNTRY, Hierarchy
from tutka.models.codes import AreaCode, IscoCode, PlausibleDate, TolCode, tol_section

#: Upper bound on the values of one filter: keeps a subscription (and a change event) small.
MAX_FILTER_VALUES: Final = 512

_ELY_OWNER: Final = re.compile(r"ELY(0[1-9]|1[0-9])")

Scope = Literal["own", "national"]


def _check_owner(owner: str) -> str:
    # The generic pattern would take ELY20 or ELY1 as a national body: refuse anything that
    # looks like an ELY centre but is not one, so a typo cannot change the scope rules.
    if owner.startswith("ELY") and _ELY_OWNER.fullmatch(owner) is None:
        raise ValueError(f"owner {owner!r} looks like an ELY centre, but those are ELY01-ELY19")
    return owner


#: A slug: it becomes part of a Kafka topic name and of the webhook key derivation.
SubscriptionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
#: An ELY centre (``ELY15``) or a national body (``TEM``, ``KEHA``).
Owner = Annotated[
    str,
    StringConstraints(pattern=r"^(ELY(0[1-9]|1[0-9])|[A-Z][A-Z0-9-]{1,31})$"),
    AfterValidator(_check_owner),
]


class ScopeError(ValueError):
    """A subscription asks for areas its owner is not entitled to (or that do not exist)."""


class _Frozen(BaseModel):
    # hide_input_in_errors: a refused webhook url may hold a secret (user:password@, a token in
    # the query), and validation errors end up in logs and dead letters.
    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, hide_input_in_errors=True
    )


class SubscriptionFilters(_Frozen):
    """What a subscription wants. An empty tuple means "any"; all filters must hold."""

    areas: Annotated[tuple[AreaCode, ...], Field(max_length=MAX_FILTER_VALUES)] = Field(
        default=(), description="area codes; each includes everything under it in the hierarchy"
    )
    sectors: Annotated[tuple[TolCode, ...], Field(max_length=MAX_FILTER_VALUES)] = Field(
        default=(), description="TOL 2008 section letters (any code in the section) or codes"
    )
    occupations: Annotated[tuple[IscoCode, ...], Field(max_length=MAX_FILTER_VALUES)] = Field(
        default=(), description="ISCO-08 codes; a code includes the codes that extend it"
    )
    kinds: Annotated[tuple[AlertKind, ...], Field(max_length=len(AlertKind))] = ()
    polarity: Polarity | None = None
    min_severity: Severity = Severity.WATCH


class KafkaDelivery(_Frozen):
    """Alerts are produced to the subscription's own topic (see :attr:`Subscription.topic`)."""

    type: Literal["kafka"] = "kafka"


def _no_credentials(url: HttpUrl) -> HttpUrl:
    # Subscriptions are stored on a Kafka topic that many services read: no secrets there.
    if url.username is not None or url.password is not None:
        raise ValueError(
            "webhook url must not carry credentials (user:password@); receivers authenticate "
            "Muutostutka by the X-Tutka-Signature header instead"
        )
    return url


class WebhookDelivery(_Frozen):
    """Alerts are POSTed, signed with a key derived for this subscription, to ``url``."""

    type: Literal["webhook"] = "webhook"
    url: Annotated[HttpUrl, AfterValidator(_no_credentials)]


Delivery = Annotated[KafkaDelivery | WebhookDelivery, Field(discriminator="type")]


class Subscription(_Frozen):
    """One subscriber's standing request for alerts.

    The ``revision`` orders changes to the same subscription: a higher revision replaces a lower
    one (see :func:`apply_change`).
    """

    schema_version: Literal[1] = 1
    id: SubscriptionId
    owner: Owner
    scope: Scope = "own"
    filters: SubscriptionFilters = SubscriptionFilters()
    delivery: Delivery
    created: PlausibleDate
    revision: Annotated[int, Field(ge=0)] = 0

    @property
    def topic(self) -> str | None:
        """The Kafka topic a ``kafka`` subscription is delivered to; ``None`` for a webhook.

        This is the base name: a deployment with a namespace prefix (``tutka.worker.topics``)
        puts its own prefix in front.
        """
        if isinstance(self.delivery, KafkaDelivery):
            return subscription_topic(self.id)
        return None


def subscription_topic(subscription_id: str) -> str:
    """The versioned topic of one subscription: a persisted contract, like every topic name."""
    return f"tutka.alerts.sub.{subscription_id}.v1"


def is_ely_owner(owner: str) -> bool:
    """Whether ``owner`` names an ELY centre (``ELY01`` … ``ELY19``), not a national body."""
    return _ELY_OWNER.fullmatch(owner) is not None


# ---------------------------------------------------------------------------------------------
# Scope


def effective_areas(subscription: Subscription) -> tuple[str, ...]:
    """The areas a subscription covers, with the empty filter made explicit.

    An empty ``areas`` filter means the owner's ELY area for scope ``"own"`` and the whole
    country for scope ``"national"``. A non-ELY owner with scope ``"own"`` has no own area
    (:func:`check_scope` refuses it); it gets ``()`` so it matches nothing rather than everything.
    """
    areas = subscription.filters.areas
    if subscription.scope == "national":
        return areas or (COUNTRY,)
    if not is_ely_owner(subscription.owner):
        return ()
    return areas or (subscription.owner,)


def check_scope(subscription: Subscription, hierarchy: Hierarchy) -> None:
    """Refuse a subscription its owner may not hold, with a message saying what to change.

    Rules: every area must exist in ``hierarchy``; with scope ``"own"`` the owner must be an ELY
    centre of the hierarchy and every area must lie under its ELY area; scope ``"national"`` is
    allowed for any owner, but only when declared.

    Raises:
        ScopeError: naming the subscription, the owner and the offending areas.
    """
    sub = subscription
    where = f"subscription {sub.id!r} (owner {sub.owner})"
    unknown = [a for a in sub.filters.areas if a not in hierarchy]
    if unknown:
        raise ScopeError(
            f"{where}: {_plural(unknown, 'area')} {', '.join(unknown)} "
            f"{'is' if len(unknown) == 1 else 'are'} not in the area hierarchy; use the current "
            "Statistics Finland codes (municipalities merge and get new codes)"
        )
    if sub.scope == "national":
        return
    if not is_ely_owner(sub.owner):
        raise ScopeError(
            f"{where}: {sub.owner} is not an ELY centre, so it has no own area; "
            'declare scope "national" to subscribe to areas anywhere in Finland'
        )
    if sub.owner not in hierarchy:
        known = hierarchy.of_level("ELY")
        raise ScopeError(
            f"{where}: ELY area {sub.owner} is not in the area hierarchy "
            f"(it has {known[0]}-{known[-1]})"
            if known
            else f"{where}: the area hierarchy has no ELY areas"
        )
    outside = [a for a in sub.filters.areas if not hierarchy.contains(sub.owner, a)]
    if outside:
        described = ", ".join(_describe(a, hierarchy) for a in outside)
        raise ScopeError(
            f"{where}: {_plural(outside, 'area')} {described} "
            f"{'lies' if len(outside) == 1 else 'lie'} outside {_describe(sub.owner, hierarchy)}, "
            'the owner\'s ELY area. With scope "own" an ELY centre may only subscribe to areas '
            f"under its own ELY area: remove {', '.join(outside)} from filters.areas, or declare "
            'scope "national"'
        )


def _describe(code: str, hierarchy: Hierarchy) -> str:
    area = hierarchy.get(code)
    return f"{code} ({area.name_fi})" if area is not None else code


def _plural(items: list[str], word: str) -> str:
    return word if len(items) == 1 else f"{word}s"


# ---------------------------------------------------------------------------------------------
# Matching


def matches(subscription: Subscription, alert: Alert, hierarchy: Hierarchy) -> bool:
    """True when ``alert`` is one ``subscription`` asked for.

    The area test uses ``alert.area`` only, not ``alert.also_in``. ``also_in`` lists areas whose
    own signals were folded into this alert, and it grows while the alert is open; matching on it
    would start a subscriber's view of an alert mid-story (an ``updated`` or ``resolved`` without
    the ``open``), and would hand ELY centres national alerts, outside their own scope. Matching
    on the area, which is fixed for an alert's group, gives a subscriber every sequence of every
    alert it gets. For the same reason the severity test is stable: an open alert never
    de-escalates, so once a sequence passes ``min_severity`` the rest, resolution included, do.

    Scope is enforced here too (an ``"own"`` subscription only sees alerts under its owner's ELY
    area), so a subscription that bypassed :func:`check_scope` cannot leak other areas' alerts.
    """
    wanted = subscription.filters
    if alert.severity.rank < wanted.min_severity.rank:
        return False
    if wanted.kinds and alert.kind not in wanted.kinds:
        return False
    if wanted.polarity is not None and alert.polarity is not wanted.polarity:
        return False
    if wanted.sectors and not any(sector_matches(s, alert.sector) for s in wanted.sectors):
        return False
    if wanted.occupations and not any(
        occupation_matches(o, alert.occupation) for o in wanted.occupations
    ):
        return False
    if not any(_lies_under(alert, a, hierarchy) for a in effective_areas(subscription)):
        return False
    return subscription.scope == "national" or _lies_under(alert, subscription.owner, hierarchy)


def _lies_under(alert: Alert, ancestor: str, hierarchy: Hierarchy) -> bool:
    if alert.area in hierarchy:
        return hierarchy.contains(ancestor, alert.area)
    # An alert read back after the hierarchy changed (a merged municipality) still carries the
    # ancestors it was produced with; use them rather than silently dropping the alert.
    return ancestor == alert.area or ancestor in alert.parents


def sector_matches(wanted: str, sector: str | None) -> bool:
    """A TOL filter against an alert's sector; an alert without a sector never matches.

    A section letter matches the section and any code in it. A code matches itself and the
    longer codes under it (TOL codes nest by prefix), but not a broader alert: a paper-industry
    subscriber (``17``) is not sent every manufacturing (``C``) alert, just as an area filter
    does not include the areas above it.
    """
    if sector is None:
        return False
    if wanted.isalpha():
        try:
            return tol_section(sector) == wanted
        except ValueError:
            # An alert sector that is not a TOL code cannot belong to a section.
            return False
    return sector.startswith(wanted)


def occupation_matches(wanted: str, occupation: str | None) -> bool:
    """ISCO-08 nests by prefix: ``72`` matches ``7212``. No occupation never matches."""
    return occupation is not None and occupation.startswith(wanted)


# ---------------------------------------------------------------------------------------------
# Changes on the compacted topic, and folding them


class SubscriptionUpserted(_Frozen):
    """A subscription was created or replaced (by a higher revision)."""

    type: Literal["upsert"] = "upsert"
    subscription: Subscription

    @property
    def id(self) -> str:
        """The id of the subscription created or replaced."""
        return self.subscription.id

    @property
    def revision(self) -> int:
        """The revision of the subscription created or replaced."""
        return self.subscription.revision


class SubscriptionRemoved(_Frozen):
    """A subscription was removed, as of ``revision`` (it removes revisions up to this one)."""

    schema_version: Literal[1] = 1
    type: Literal["removal"] = "removal"
    id: SubscriptionId
    revision: Annotated[int, Field(ge=0)]
    removed: PlausibleDate


SubscriptionChange = Annotated[
    SubscriptionUpserted | SubscriptionRemoved, Field(discriminator="type")
]
#: Validates a change read from the subscriptions topic (``validate_json`` on the raw value).
SUBSCRIPTION_CHANGE: Final[TypeAdapter[SubscriptionUpserted | SubscriptionRemoved]] = TypeAdapter(
    SubscriptionChange, config=ConfigDict(hide_input_in_errors=True)
)

ChangeOutcome = Literal["added", "updated", "removed", "duplicate", "stale", "conflict"]


@dataclass(frozen=True, slots=True)
class SubscriptionBook:
    """The current subscriptions, and the revision at which removed ids were removed.

    Remembering removals keeps a late, older upsert (a replay, a second writer) from bringing a
    removed subscription back. Both mappings are read-only; :func:`apply_change` builds new ones.
    """

    subscriptions: Mapping[str, Subscription] = field(default_factory=lambda: MappingProxyType({}))
    removed: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def revision(self, subscription_id: str) -> int | None:
        """The latest revision seen for an id, active or removed; ``None`` if never seen."""
        current = self.subscriptions.get(subscription_id)
        if current is not None:
            return current.revision
        return self.removed.get(subscription_id)


def apply_change(
    book: SubscriptionBook, change: SubscriptionUpserted | SubscriptionRemoved
) -> tuple[SubscriptionBook, ChangeOutcome]:
    """Fold one change into ``book``: the latest revision per id wins, and a removal wins ties.

    Outcomes: ``added`` (new id, or re-created after a removal by a higher revision),
    ``updated``, ``removed``, ``duplicate`` (the same change again: at-least-once delivery),
    ``stale`` (a lower revision, or an upsert at the revision of a removal), ``conflict`` (a
    different upsert at the current revision: the writer must bump the revision). Only the
    first three change the book; the shell may count or log the others.
    """
    known = book.revision(change.id)
    current = book.subscriptions.get(change.id)
    if isinstance(change, SubscriptionUpserted):
        if known is None or change.revision > known:
            outcome: ChangeOutcome = "updated" if current is not None else "added"
            return _with(book, change.subscription), outcome
        if change.revision < known or current is None:
            return book, "stale"
        return book, "duplicate" if current == change.subscription else "conflict"
    if known is not None and change.revision < known:
        return book, "stale"
    if current is None and known == change.revision:
        return book, "duplicate"
    return _without(book, change.id, change.revision), "removed"


def fold_changes(
    changes: Iterable[SubscriptionUpserted | SubscriptionRemoved],
    book: SubscriptionBook | None = None,
) -> SubscriptionBook:
    """Fold a stream of changes (e.g. the compacted topic from the start) into a book."""
    result = book if book is not None else SubscriptionBook()
    for change in changes:
        result, _ = apply_change(result, change)
    return result


def _with(book: SubscriptionBook, subscription: Subscription) -> SubscriptionBook:
    subscriptions = dict(book.subscriptions)
    subscriptions[subscription.id] = subscription
    removed = {k: v for k, v in book.removed.items() if k != subscription.id}
    return SubscriptionBook(MappingProxyType(subscriptions), MappingProxyType(removed))


def _without(book: SubscriptionBook, subscription_id: str, revision: int) -> SubscriptionBook:
    subscriptions = {k: v for k, v in book.subscriptions.items() if k != subscription_id}
    removed = dict(book.removed)
    removed[subscription_id] = revision
    return SubscriptionBook(MappingProxyType(subscriptions), MappingProxyType(removed))
