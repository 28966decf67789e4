"""Real-data check on US WARN notices and state unemployment (BLS LAUS), through the same engine.

Finnish notices are not public as data; US WARN Act notices are, and so are state figures. Each
state becomes an area (``KU<fips>`` under ``SK<fips>``, so that notice bursts, counted at the
sub-region level, and figures, at the municipal level, are both "the state"); the country is
the sum of the states. WARN rows become :class:`LayoffNoticeFiled` (closure, temporary layoff or
dismissal; persons; notice and effective dates; the state from the county FIPS code), LAUS rows
:class:`UnemploymentReported` (unemployed, labour force; not seasonally adjusted: the engine
deseasonalises). Then:

- **lead**: per state and recession onset (2001, 2008), the months between the first
  notice-led alert (layoff notices) and the first figure-led alert (unemployment) on the state
  or, when the state has none of its own in the window, on the country that covers it;
- **tracking share**: the share of noticed persons that shows up in unemployment, the slope of
  the yearly change of a state's seasonally adjusted unemployed (December to December) on its
  noticed permanent job losses that year, with year effects (the national cycle) removed, and a
  bootstrap interval over states.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Final

from pydantic import ValidationError

from tutka.config.catalogue import Catalogue
from tutka.models.alerts import Alert, AlertKind, AlertStatus, Polarity, TriggerRule, hold_of
from tutka.models.areas import Area, Hierarchy
from tutka.models.codes import business_id_check_digit, period_index, period_str
from tutka.models.events import LayoffNoticeFiled, NoticeKind, UnemploymentReported

#: NBER business-cycle peaks, and the window in which a state's onset alerts are looked for.
ONSETS: Final[dict[str, tuple[str, str]]] = {
    "2001": ("2000-07", "2002-06"),
    "2008": ("2007-06", "2009-06"),
}
#: Months of notices a state's archive must hold before an onset window to be judged.
MIN_COVERAGE: Final = 12
#: NAICS sectors (first two digits) -> TOL 2008 / NACE sections.
_NAICS: Final[dict[str, str]] = {
    "11": "A", "21": "B", "22": "D", "23": "F", "31": "C", "32": "C", "33": "C", "42": "G",
    "44": "G", "45": "G", "48": "H", "49": "H", "51": "J", "52": "K", "53": "L", "54": "M",
    "55": "M", "56": "N", "61": "P", "62": "Q", "71": "R", "72": "I", "81": "S", "92": "O",
}  # fmt: skip


def state_area(fips: str) -> str:
    """The area code standing for a state (``06`` -> ``KU006``)."""
    return f"KU{int(fips):03d}"


def hierarchy(states: Mapping[str, str]) -> Hierarchy:
    """The country, one ELY area and region, and per state a sub-region with one municipality."""
    areas = [
        Area("SSS", "USA", "USA", "United States", None),
        Area("ELY01", "USA", "USA", "United States", "SSS"),
        Area("MK01", "USA", "USA", "United States", "ELY01"),
    ]
    for fips, name in sorted(states.items()):
        areas.append(Area(f"SK{int(fips):03d}", name, name, name, "MK01"))
        areas.append(Area(state_area(fips), name, name, name, f"SK{int(fips):03d}"))
    return Hierarchy(areas)


def catalogue(shipped: Catalogue) -> Catalogue:
    """The shipped catalogue with Sahm's rule per state (a sub-region here) instead of region."""
    sahm = shipped.triggers.sahm
    if sahm is None:
        return shipped
    triggers = shipped.triggers.model_copy(update={"sahm": sahm.model_copy(update={"level": "SK"})})
    return shipped.model_copy(update={"triggers": triggers})


def _published(year: int, month: int) -> date:
    nxt = year * 12 + month  # the month after (months counted from 0)
    return date(nxt // 12, nxt % 12 + 1, 20)


@dataclass(frozen=True, slots=True)
class Laus:
    """One state-month of LAUS: unemployed and labour force."""

    fips: str
    name: str
    year: int
    month: int
    unemployed: float
    labour_force: float


def read_laus(path: Path, first_year: int, last_year: int) -> list[Laus]:
    """The LAUS rows of ``first_year``..``last_year``."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            year = int(row["year"])
            if first_year <= year <= last_year:
                out.append(
                    Laus(row["fips"], row["state"], year, int(row["month"]),
                         float(row["unem"]), float(row["clf"]))
                )  # fmt: skip
    return out


def figures(rows: Iterable[Laus]) -> list[UnemploymentReported]:
    """LAUS as figure events: per state and for the country (the sum), both measures."""
    totals: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    events = []
    for r in rows:
        common = {"period": f"{r.year:04d}-{r.month:02d}", "published": _published(r.year, r.month),
                  "source": "bls-laus"}  # fmt: skip
        events.append(UnemploymentReported(area=state_area(r.fips), measure="unemployed_jobseekers",
                                           value=r.unemployed, **common))  # fmt: skip
        events.append(UnemploymentReported(area=state_area(r.fips), measure="labour_force",
                                           value=r.labour_force, **common))  # fmt: skip
        total = totals[(r.year, r.month)]
        total[0] += r.unemployed
        total[1] += r.labour_force
    for (year, month), (unemployed, labour_force) in sorted(totals.items()):
        common = {"period": f"{year:04d}-{month:02d}", "published": _published(year, month),
                  "source": "bls-laus"}  # fmt: skip
        events.append(UnemploymentReported(area="SSS", measure="unemployed_jobseekers",
                                           value=unemployed, **common))  # fmt: skip
        events.append(UnemploymentReported(area="SSS", measure="labour_force",
                                           value=labour_force, **common))  # fmt: skip
    return events


def _business_id(employer: str) -> str:
    """A stable, valid Finnish-format business id for a US employer (the model requires one)."""
    digest = int(hashlib.sha256(employer.encode()).hexdigest(), 16)
    for step in range(20):
        digits = f"{(digest + step) % 10**7:07d}"
        check = business_id_check_digit(digits)
        if check is not None:
            return f"{digits}-{check}"
    raise AssertionError("unreachable: two in eleven remainders have no check digit")


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def read_warn(directory: Path, first_year: int, last_year: int) -> Iterator[LayoffNoticeFiled]:
    """WARN notices announced in ``first_year``..``last_year`` as notice events.

    Amendments and rows without a notice date, a state or a headcount are skipped (counted by
    :func:`warn_coverage` through what is returned).
    """
    for path in sorted(directory.glob("*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        prefixes = [r["county_fips"][:2] for r in rows if len(r["county_fips"]) == 5]
        home = max(set(prefixes), key=prefixes.count) if prefixes else None
        for i, row in enumerate(rows):
            notice = _notice(row, home, f"{path.name[:2]}-{i}", first_year, last_year)
            if notice is not None:
                yield notice


def _notice(
    row: Mapping[str, str], home: str | None, fallback_id: str, first_year: int, last_year: int
) -> LayoffNoticeFiled | None:
    announced = _date(row["notice_date"])
    if announced is None or not first_year <= announced.year <= last_year:
        return None
    if row.get("is_amendment") == "1":
        return None
    fips = row["county_fips"][:2] if len(row["county_fips"]) == 5 else home
    try:
        persons = int(float(row["employees_affected"]))
    except ValueError:
        return None
    if fips is None or persons < 1:
        return None
    effective = _date(row["effective_date"]) or announced + timedelta(days=60)
    kind = (
        NoticeKind.TEMPORARY_LAYOFF
        if row.get("is_temporary") == "1"
        else NoticeKind.CLOSURE
        if row.get("layoff_type") == "closure"
        else NoticeKind.DISMISSAL
    )
    employer = row["employer_name"].strip()[:200] or "unknown"
    try:
        return LayoffNoticeFiled(
            notice_id=(row.get("dedupe_key") or fallback_id)[:64],
            employer=employer,
            business_id=_business_id(employer),
            municipality=state_area(fips),
            sector=_NAICS.get((row.get("naics") or "")[:2], "S"),
            kind=kind,
            persons=min(persons, 100_000),
            announced=announced,
            effective_from=max(effective, announced),
            source="warn",
        )
    except ValidationError:
        return None


def coverage(notices: Iterable[LayoffNoticeFiled]) -> dict[str, int]:
    """Per state area, the first month (index) its notices cover."""
    first: dict[str, int] = {}
    for n in notices:
        month = period_index(n.period)
        first[n.municipality] = min(first.get(n.municipality, month), month)
    return first


@dataclass(frozen=True, slots=True)
class Lead:
    """One state's onset: when the notice-led and the figure-led alerts became available."""

    state: str
    onset: str
    notice_month: str | None
    notice_own: bool
    figure_month: str | None
    figure_own: bool

    @property
    def lead(self) -> int | None:
        """Months the notices came before the figures (negative: after)."""
        if self.notice_month is None or self.figure_month is None:
            return None
        return period_index(self.figure_month) - period_index(self.notice_month)


def _month(alert: Alert) -> int:
    """The month the version's data became available (an opening's, or a woken alert's)."""
    opened = period_index(f"{alert.available_on:%Y-%m}")
    if alert.sequence == 1:
        return opened
    # The data of a later version is as late after its period as the opening's was.
    return opened + period_index(alert.history[-1].period) - period_index(alert.opened_period)


def _first(alerts: Iterable[Alert], window: tuple[int, int]) -> int | None:
    months = [m for a in alerts if window[0] <= (m := _month(a)) <= window[1]]
    return min(months) if months else None


def announcements(alerts: Iterable[Alert]) -> list[Alert]:
    """The versions that warn anew: openings, and a held alert's first version after its hold.

    A held alert (the new normal, a structural change) stays open until staff close it, so a
    later wave in its area wakes it rather than opening a new alert.
    """
    previous: dict[str, Alert] = {}
    out = []
    for alert in alerts:
        before = previous.get(alert.id)
        woken = before is not None and hold_of(before) is not None and hold_of(alert) is None
        if alert.sequence == 1 or (woken and alert.status is not AlertStatus.RESOLVED):
            out.append(alert)
        previous[alert.id] = alert
    return out


def _notice_led(alert: Alert) -> bool:
    return alert.kind is AlertKind.LAYOFF_NOTICES and alert.polarity is Polarity.NEGATIVE


def _figure_led(alert: Alert) -> bool:
    if alert.kind is AlertKind.UNEMPLOYMENT:
        return alert.polarity is Polarity.NEGATIVE
    return alert.trigger is not None and alert.trigger.rule is TriggerRule.SAHM_RULE


def _pick(
    alerts: Sequence[Alert], own: tuple[str, ...], window: tuple[int, int]
) -> tuple[str | None, bool]:
    """The first month in ``window`` of an alert on ``own`` areas, else on the country."""
    mine = _first((a for a in alerts if a.area in own), window)
    if mine is not None:
        return period_str(mine), True
    country = _first((a for a in alerts if a.area in ("SSS", "MK01")), window)
    return (None if country is None else period_str(country)), False


def leads(
    alerts: Sequence[Alert], first_notice: Mapping[str, int], states: Mapping[str, str]
) -> list[Lead]:
    """Per onset and state with notices covering it, the notice-led and figure-led months.

    Notice-led: the first layoff-notice alert on the state (else on the country) whose notices
    became known in the onset window. Figure-led: the first negative unemployment alert or
    Sahm-rule trigger on the state (else on the country) whose figures became available in it.
    Only announcements count: an alert's opening version, or a held alert woken by new
    notices or a new move (staff see it as a fresh warning); updates of a moving alert do not.
    """
    firsts = announcements(alerts)
    notice_alerts = [a for a in firsts if _notice_led(a)]
    figure_alerts = [a for a in firsts if _figure_led(a)]
    out = []
    for onset, (start, end) in ONSETS.items():
        window = (period_index(start), period_index(end))
        for fips in sorted(states):
            area = state_area(fips)
            if first_notice.get(area, 10**9) > window[0] - MIN_COVERAGE:
                continue
            own = (area, f"SK{int(fips):03d}")
            notice, notice_own = _pick(notice_alerts, own, window)
            figure, figure_own = _pick(figure_alerts, own, window)
            out.append(Lead(states[fips], onset, notice, notice_own, figure, figure_own))
    return out


@dataclass(frozen=True, slots=True)
class Share:
    """The share of noticed persons that showed up in unemployment, with its interval."""

    share: float
    low: float
    high: float
    state_years: int
    states: int


def _state_years(
    sa: Sequence[Laus],
    notices: Iterable[LayoffNoticeFiled],
    first_notice: Mapping[str, int],
    years: range,
) -> dict[str, list[tuple[int, float, float]]]:
    """Per state: (year, noticed permanent losses, change in unemployed Dec to Dec)."""
    december = {(r.fips, r.year): r.unemployed for r in sa if r.month == 12}
    losses: dict[tuple[str, int], float] = defaultdict(float)
    for n in notices:
        if n.kind in (NoticeKind.DISMISSAL, NoticeKind.CLOSURE):
            losses[(n.municipality, n.effective_from.year)] += n.persons
    rows: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    fips_of = {state_area(f): f for f, _ in december}
    for area, start in first_notice.items():
        fips = fips_of.get(area)
        if fips is None:
            continue
        covered = [y for y in years if period_index(f"{y:04d}-01") - start >= MIN_COVERAGE]
        for year in covered:
            now, before = december.get((fips, year)), december.get((fips, year - 1))
            if now is not None and before is not None:
                rows[area].append((year, losses.get((area, year), 0.0), now - before))
    return rows


def _slope(rows: Mapping[str, list[tuple[int, float, float]]], sample: Sequence[str]) -> float:
    """Σxy / Σx² of the year-demeaned pairs of the states in ``sample``."""
    by_year: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for area in sample:
        for year, x, y in rows[area]:
            by_year[year].append((x, y))
    sxy = sxx = 0.0
    for pairs in by_year.values():
        mx = sum(x for x, _ in pairs) / len(pairs)
        my = sum(y for _, y in pairs) / len(pairs)
        sxy += sum((x - mx) * (y - my) for x, y in pairs)
        sxx += sum((x - mx) ** 2 for x, _ in pairs)
    return sxy / sxx if sxx else 0.0


def tracking_share(
    sa: Sequence[Laus],
    notices: Iterable[LayoffNoticeFiled],
    first_notice: Mapping[str, int],
    years: range,
    seed: int = 17,
    draws: int = 2000,
) -> Share:
    """Slope of a state's yearly change in unemployed on its noticed permanent losses.

    ``y[s, t]`` = seasonally adjusted unemployed in December of ``t`` minus December of
    ``t - 1``; ``x[s, t]`` = persons of dismissal and closure notices taking effect in ``t``.
    Both are demeaned within each year (the national cycle), then ``share = Σxy / Σx²``; the
    interval is the 5th and 95th percentile over ``draws`` bootstrap resamples of states.
    """
    rows = _state_years(sa, notices, first_notice, years)
    states = sorted(rows)
    slope = partial(_slope, rows)
    rng = random.Random(seed)
    boot = sorted(slope([rng.choice(states) for _ in states]) for _ in range(draws))
    return Share(
        share=slope(states),
        low=boot[int(0.05 * draws)],
        high=boot[int(0.95 * draws) - 1],
        state_years=sum(len(v) for v in rows.values()),
        states=len(states),
    )
