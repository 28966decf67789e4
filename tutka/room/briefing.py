"""The monthly situation report's content: what a view shows, gathered once for the PDF.

The room's ``GET /api/report.pdf`` and ``tutka report`` both build a :class:`Briefing` here from
the room's state, the member of staff and the view (the same filters, scope and order as
``/api/picture``), and :mod:`tutka.room.pdf` draws it. Nothing personal goes in: the alerts name
areas, sectors and employers; case work (who acknowledged, who is assigned, their notes) stays in
the room.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

from tutka.models.access import Principal
from tutka.models.alerts import Alert, Localized, Polarity, Severity
from tutka.models.areas import COUNTRY, Hierarchy
from tutka.models.codes import period_index
from tutka.room.responses import chart_from
from tutka.room.schemas import Chart
from tutka.room.state import RoomState
from tutka.streams.explain import LANGS, MEASURES, Lang
from tutka.streams.picture import View, count, is_open, matches_view, ordered
from tutka.terminal import label

#: Alerts with a section (headline, explanation, chart) of their own; the table lists more.
SECTIONS: Final = 12
#: Rows in the table of the largest changes.
TABLE_ROWS: Final = 40

_INDEX: Final[dict[str, int]] = {lang: i for i, lang in enumerate(LANGS)}

_TEXTS: Final[dict[str, tuple[str, str, str]]] = {
    "title": (
        "Muutostutka – tilannekatsaus",
        "Muutostutka – lägesbild",
        "Muutostutka – situation report",
    ),
    "file": ("tilannekatsaus", "lagesbild", "situation-report"),
    "period": ("Tilanne: {month}", "Läget: {month}", "Situation in {month}"),
    "no_period": (
        "Tilanne: ei vielä tietoja",
        "Läget: inga uppgifter ännu",
        "Situation: no figures yet",
    ),
    "as_of": (
        "Tiedot saatavilla {date} asti",
        "Uppgifter tillgängliga till {date}",
        "Figures available up to {date}",
    ),
    "prepared": ("Laadittu {date}", "Sammanställd {date}", "Prepared {date}"),
    "scope": ("Alue: {area}", "Område: {area}", "Area: {area}"),
    "filters": ("Rajaukset: {filters}", "Avgränsningar: {filters}", "Filters: {filters}"),
    "all_open": ("kaikki avoimet hälytykset", "alla öppna larm", "all open alerts"),
    "counts": (
        "Hälytyksiä näkymässä {total}: heikentäviä {negative}, myönteisiä {positive}",
        "Larm i vyn {total}: negativa {negative}, positiva {positive}",
        "Alerts in this view {total}: {negative} negative, {positive} positive",
    ),
    "map": (
        "Kartta: avoimet muutokset alueittain",
        "Karta: öppna förändringar per område",
        "Map: open changes by area",
    ),
    "legend_neg": (
        "heikentäviä muutoksia (tummempi = merkittävämpi)",
        "negativa förändringar (mörkare = viktigare)",
        "negative changes (darker = more important)",
    ),
    "legend_pos": ("vain myönteisiä", "endast positiva", "positive only"),
    "legend_none": ("ei avoimia", "inga öppna", "none open"),
    "largest": ("Suurimmat muutokset", "De största förändringarna", "The largest changes"),
    "largest_note": (
        "Vakavimmat ensin; samalla tasolla heikentävät ennen myönteisiä, sitten henkilömäärän "
        "mukaan.",
        "De allvarligaste först; på samma nivå negativa före positiva, sedan efter antalet "
        "personer.",
        "Most severe first; at the same level negative before positive, then by persons affected.",
    ),
    "more": (
        "… ja {n} muuta (CSV- ja Excel-vienti listaa kaikki).",
        "… och {n} till (CSV- och Excel-exporten listar alla).",
        "… and {n} more (the CSV and Excel exports list them all).",
    ),
    "none": (
        "Ei hälytyksiä tässä näkymässä.",
        "Inga larm i den här vyn.",
        "No alerts in this view.",
    ),
    "col_severity": ("Vakavuus", "Allvarlighet", "Severity"),
    "col_polarity": ("Suunta", "Riktning", "Polarity"),
    "col_kind": ("Laji", "Typ", "Kind"),
    "col_area": ("Alue", "Område", "Area"),
    "col_impact": ("Henkilöä", "Personer", "Persons"),
    "col_opened": ("Alkoi", "Började", "Opened"),
    "impact": ("{n} henkilöä", "{n} personer", "{n} persons"),
    "share": ("{pct} % työvoimasta", "{pct} % av arbetskraften", "{pct} % of the labour force"),
    "confidence": ("varmuus: {level}", "säkerhet: {level}", "confidence: {level}"),
    "opened": ("alkoi {period}", "började {period}", "opened {period}"),
    "resolved": ("päättyi {period}", "avslutades {period}", "resolved {period}"),
    "chart": ("Kuvaaja: {measure}", "Diagram: {measure}", "Chart: {measure}"),
    "chart_values": ("tilastoitu", "statistik", "recorded"),
    "chart_expected": (
        "sama kuukausi aiempina vuosina (mediaani)",
        "samma månad tidigare år (median)",
        "same month in earlier years (median)",
    ),
    "chart_signals": ("havainnot", "signaler", "signals"),
    "chart_opened": ("alkoi", "började", "opened"),
    "no_chart": (
        "Ei kuvaajaa: sarjan lukuja ei ole.",
        "Inget diagram: inga värden för serien.",
        "No chart: the series has no figures.",
    ),
    "source": ("Lähde: Tilastokeskus", "Källa: Statistikcentralen", "Source: Statistics Finland"),
    "map_source": (
        "Rajat: Maanmittauslaitos, hallinnolliset aluejaot 2023, CC BY 4.0 (yksinkertaistettu).",
        "Gränser: Lantmäteriverket, administrativa indelningar 2023, CC BY 4.0 (förenklade).",
        "Boundaries: National Land Survey of Finland, administrative areas 2023, CC BY 4.0 "
        "(simplified).",
    ),
    "page": ("sivu {n}", "sida {n}", "page {n}"),
    "status_open": ("avoin", "öppen", "open"),
    "status_updated": ("päivitetty", "uppdaterad", "updated"),
    "status_resolved": ("päättynyt", "avslutad", "resolved"),
    "status_all": ("kaikki", "alla", "all"),
    "f_status": ("Tila", "Status", "Status"),
    "f_kind": ("Laji", "Typ", "Kind"),
    "f_polarity": ("Suunta", "Riktning", "Polarity"),
    "f_min_severity": ("Vähintään", "Minst", "At least"),
    "f_sector": ("Toimiala", "Näringsgren", "Sector"),
    "f_occupation": ("Ammatti", "Yrke", "Occupation"),
}

_MONTHS: Final[dict[str, tuple[str, ...]]] = {
    "fi": (
        "tammikuu",
        "helmikuu",
        "maaliskuu",
        "huhtikuu",
        "toukokuu",
        "kesäkuu",
        "heinäkuu",
        "elokuu",
        "syyskuu",
        "lokakuu",
        "marraskuu",
        "joulukuu",
    ),
    "sv": (
        "januari",
        "februari",
        "mars",
        "april",
        "maj",
        "juni",
        "juli",
        "augusti",
        "september",
        "oktober",
        "november",
        "december",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def text(key: str, lang: str, **values: object) -> str:
    """A report text in ``lang`` (fi, sv or en), with ``values`` filled in."""
    return _TEXTS[key][_INDEX[lang]].format(**values)


def month_name(period: str, lang: str) -> str:
    """``"2024-03"`` as ``"maaliskuu 2024"``, ``"mars 2024"``, ``"March 2024"``."""
    index = period_index(period)
    return f"{_MONTHS[lang][index % 12]} {index // 12}"


_RULES: Final[dict[str, tuple[str, str, str]]] = {
    "egf_enterprise": ("EGR, yritys", "EGF, företag", "EGF, one enterprise"),
    "egf_sector": ("EGR, toimiala", "EGF, bransch", "EGF, one sector"),
    "sudden_structural_change": ("äkillinen rakennemuutos", "plötslig strukturomvandling",
                                 "sudden structural change"),
    "sahm_rule": ("Sahmin sääntö", "Sahms regel", "Sahm rule"),
}  # fmt: skip


def kind_name(alert: Alert, lang: str) -> str:
    """What changed, in ``lang``; a policy trigger says which criterion it met."""
    name = MEASURES[alert.kind][_INDEX[lang]]
    if alert.trigger is not None and alert.trigger.rule.value in _RULES:
        return f"{name} ({_RULES[alert.trigger.rule.value][_INDEX[lang]]})"
    return name


def headline(number: int, alert: Alert, lang: str) -> str:
    """The section's heading: its place in the list, what changed, where."""
    return f"{number}. {kind_name(alert, lang)} · {getattr(alert.area_name, lang)} ({alert.area})"


def severity_name(severity: Severity, lang: str) -> str:
    return label(severity.value, lang)


def polarity_name(polarity: Polarity, lang: str) -> str:
    return label(polarity.value, lang)


@dataclass(frozen=True, slots=True)
class Tone:
    """An area's open changes on the map: counts and the highest level of each polarity."""

    negative: int = 0
    positive: int = 0
    negative_rank: int = 0
    positive_rank: int = 0

    @property
    def name(self) -> str:
        """The room's colour class: ``neg-3`` … ``pos-1``, or ``none`` (as map.js has it)."""
        if self.negative:
            return f"neg-{self.negative_rank}"
        if self.positive:
            return f"pos-{self.positive_rank}"
        return "none"


def tones(alerts: list[Alert]) -> dict[str, Tone]:
    """Open changes per area, counted where they lie and in every area above (as the room's map
    counts them)."""
    out: dict[str, Tone] = {}
    for alert in alerts:
        if not is_open(alert):
            continue
        for code in (alert.area, *alert.parents):
            t = out.get(code, Tone())
            rank = alert.severity.rank
            if alert.polarity is Polarity.NEGATIVE:
                t = Tone(t.negative + 1, t.positive, max(t.negative_rank, rank), t.positive_rank)
            else:
                t = Tone(t.negative, t.positive + 1, t.negative_rank, max(t.positive_rank, rank))
            out[code] = t
    return out


@dataclass(frozen=True, slots=True)
class Briefing:
    """Everything the report shows, in one language."""

    lang: Lang
    prepared: date
    #: The latest day with figures (``YYYY-MM-DD``) and its month, or None before any.
    as_of: str | None
    scope: str
    scope_name: str
    filters: str
    #: The view's alerts, most important first (the whole list; the report shows the first ones).
    alerts: list[Alert]
    negative: int
    positive: int
    charts: dict[str, Chart]
    tones: dict[str, Tone]
    #: The map's level: ``regions`` (the country or an ELY area's) or ``municipalities``.
    map_area: str
    map_codes: tuple[str, ...] = field(default=())
    #: The ELY area of each region drawn (for the ELY outlines on a map of regions).
    map_groups: dict[str, str] = field(default_factory=dict)
    sections: int = SECTIONS

    @property
    def period(self) -> str | None:
        return self.as_of[:7] if self.as_of else None

    @property
    def filename(self) -> str:
        """``muutostutka-tilannekatsaus-2024-12.pdf`` (the data's month)."""
        return f"muutostutka-{text('file', self.lang)}-{self.period or 'empty'}.pdf"


def describe(view: View, lang: str, sectors: dict[str, Localized]) -> str:
    """The view's filters other than the area, as staff chose them (the status if not open)."""
    parts = []
    if view.status != "open":
        parts.append(f"{text('f_status', lang)}: {text('status_' + view.status, lang)}")
    if view.kind is not None:
        parts.append(f"{text('f_kind', lang)}: {MEASURES[view.kind][_INDEX[lang]]}")
    if view.polarity is not None:
        parts.append(f"{text('f_polarity', lang)}: {polarity_name(view.polarity, lang)}")
    if view.min_severity is not None:
        parts.append(f"{text('f_min_severity', lang)}: {severity_name(view.min_severity, lang)}")
    if view.sector is not None:
        name = sectors.get(view.sector)
        shown = f"{getattr(name, lang)} ({view.sector})" if name else view.sector
        parts.append(f"{text('f_sector', lang)}: {shown}")
    if view.occupation is not None:
        parts.append(f"{text('f_occupation', lang)}: {view.occupation}")
    return "; ".join(parts) if parts else text("all_open", lang)


def area_name(hierarchy: Hierarchy, code: str, lang: str) -> str:
    area = hierarchy.get(code)
    if area is None:
        return code if code != COUNTRY else ("Suomi" if lang == "fi" else "Finland")
    return f"{getattr(area, 'name_' + lang)} ({code})"


def map_of(hierarchy: Hierarchy, scope: str, regions: set[str]) -> tuple[str, tuple[str, ...]]:
    """Which shapes the map draws for ``scope``: a region's municipalities (for a region or
    anything under it), an ELY area's regions, or every region."""
    if scope == COUNTRY or scope not in hierarchy:
        return "regions", tuple(sorted(regions))
    chain = (scope, *hierarchy.ancestors(scope))
    region = next((c for c in chain if c.startswith("MK")), None)
    if region is not None:
        return "municipalities", tuple(
            code for code in sorted(hierarchy.of_level("KU")) if hierarchy.contains(region, code)
        )
    return "regions", tuple(sorted(c for c in regions if hierarchy.contains(scope, c)))


def _elys(hierarchy: Hierarchy, regions: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for region in regions:
        ely = next((c for c in hierarchy.ancestors(region) if c.startswith("ELY")), None)
        if ely is not None:
            out[region] = ely
    return out


def briefing_of(
    state: RoomState,
    sectors: dict[str, Localized],
    user: Principal,
    view: View,
    lang: Lang,
    regions: set[str],
    prepared: date,
    sections: int = SECTIONS,
) -> Briefing:
    """The report of ``view`` as ``user`` sees it (the view is already scoped, as the picture's
    filters make it); ``regions``: the region codes the map can draw."""
    hierarchy = state.hierarchy
    shown = ordered(
        a for a in state.alerts() if state.sees(user, a) and matches_view(a, view, hierarchy)
    )
    counts = count(shown)
    scope = view.area or (COUNTRY if user.national else user.scope)
    map_area, codes = map_of(hierarchy, scope, regions)
    return Briefing(
        lang=lang,
        prepared=prepared,
        as_of=state.status.as_of,
        scope=scope,
        scope_name=area_name(hierarchy, scope, lang),
        filters=describe(view, lang, sectors),
        alerts=shown,
        negative=counts.negative,
        positive=counts.positive,
        charts={a.id: chart_from(state.series, a) for a in shown[:sections]},
        tones=tones(shown),
        map_area=map_area,
        map_codes=codes,
        map_groups={} if map_area != "regions" else _elys(hierarchy, codes),
        sections=sections,
    )
