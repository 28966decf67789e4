"""Short plain-language explanations of alerts in Finnish, Swedish and English.

The texts state what changed, where, when (the month of the change's peak), and by how much
against what was expected: as a percentage when the expected level is large enough for one to
mean something (at least :data:`PERCENT_MIN_BASE`, and a change of at most 1,000 %), otherwise as
"from about 0 to 11". How sure the detectors are is the alert's ``confidence`` field, not a count
of detectors in the text. They avoid inflecting place names (Finnish case endings), so every area
name can be used as it is.

>>> fmt_number(1234567.0, "fi"), fmt_number(1234567.0, "en"), fmt_number(0.4567, "sv")
('1 234 567', '1,234,567', '0,46')
>>> may = 2023 * 12 + 4
>>> month_phrase(may, "fi"), month_phrase(may, "sv"), month_phrase(may, "en")
('toukokuussa 2023', 'i maj 2023', 'in May 2023')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from tutka.config.occupations import occupation_title
from tutka.models.alerts import (
    AlertKind,
    AlertStatus,
    Localized,
    NoticeEvidence,
    Polarity,
    SignalEvidence,
)
from tutka.models.events import NoticeKind

Lang = Literal["fi", "sv", "en"]
LANGS: Final[tuple[Lang, ...]] = ("fi", "sv", "en")

_MONTHS: Final[dict[Lang, tuple[str, ...]]] = {
    "fi": ("tammikuu", "helmikuu", "maaliskuu", "huhtikuu", "toukokuu", "kesäkuu", "heinäkuu",
           "elokuu", "syyskuu", "lokakuu", "marraskuu", "joulukuu"),
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september",
           "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
}  # fmt: skip

#: What each kind of alert counts, in Finnish, Swedish and English.
MEASURES: Final[dict[AlertKind, tuple[str, str, str]]] = {
    AlertKind.UNEMPLOYMENT: (
        "Työttömien työnhakijoiden määrä", "Antalet arbetslösa arbetssökande",
        "Unemployed job-seekers"),
    AlertKind.LONG_TERM_UNEMPLOYMENT: (
        "Pitkäaikaistyöttömien määrä", "Antalet långtidsarbetslösa", "Long-term unemployed"),
    AlertKind.YOUTH_UNEMPLOYMENT: (
        "Nuorten työttömien määrä", "Antalet unga arbetslösa", "Young unemployed"),
    AlertKind.OLDER_UNEMPLOYMENT: (
        "Yli 54-vuotiaiden työttömien määrä", "Antalet arbetslösa över 54 år",
        "Unemployed over 54"),
    AlertKind.FOREIGN_LANGUAGE_UNEMPLOYMENT: (
        "Vieraskielisten työttömien määrä", "Antalet arbetslösa med främmande modersmål",
        "Foreign-language unemployed"),
    AlertKind.TEMPORARY_LAYOFFS: (
        "Kokoaikaisesti lomautettujen määrä", "Antalet heltidspermitterade",
        "People on full-time temporary layoff"),
    AlertKind.VACANCIES: ("Avoimien työpaikkojen määrä", "Antalet lediga jobb", "Open vacancies"),
    AlertKind.TIGHTNESS: (
        "Avoimia työpaikkoja työtöntä kohden", "Lediga jobb per arbetslös",
        "Vacancies per unemployed job-seeker"),
    AlertKind.LAYOFF_NOTICES: (
        "Muutosneuvottelu- ja lomautusilmoitukset",
        "Anmälningar om uppsägningar och permitteringar", "Layoff notices"),
    AlertKind.OUTLIER: (
        "Alueen työmarkkinatilanne", "Områdets arbetsmarknadsläge", "The area's labour market"),
    AlertKind.POLICY_TRIGGER: (
        "Toimenpiteen käynnistyskriteeri", "Kriterium för en åtgärd", "A policy trigger"),
}  # fmt: skip

_ROSE: Final[dict[Lang, tuple[str, str]]] = {
    "fi": ("nousi", "laski"), "sv": ("steg", "sjönk"), "en": ("rose", "fell"),
}  # fmt: skip

_LEAD: Final[dict[Polarity, dict[Lang, str]]] = {
    Polarity.NEGATIVE: {"fi": "Heikentävä muutos", "sv": "Negativ strukturförändring",
                        "en": "Negative structural change"},
    Polarity.POSITIVE: {"fi": "Myönteinen muutos", "sv": "Positiv strukturförändring",
                        "en": "Positive structural change"},
}  # fmt: skip

_RESOLVED: Final[dict[str, dict[Lang, str]]] = {
    "quiet": {"fi": "Päättynyt, ei uusia havaintoja", "sv": "Avslutad, inga nya signaler",
              "en": "Resolved, no new signals"},
    "recovered": {"fi": "Päättynyt, taso palautui", "sv": "Avslutad, nivån återhämtade sig",
                  "en": "Resolved, the level recovered"},
    "settled": {"fi": "Päättynyt, muuttunut taso on vakiintunut uudeksi normaaliksi",
                "sv": "Avslutad, den förändrade nivån har blivit det nya normala",
                "en": "Resolved, the shifted level has become the new normal"},
    "reversed": {"fi": "Päättynyt, muutos kääntyi", "sv": "Avslutad, förändringen vände",
                 "en": "Resolved, the change reversed"},
    "withdrawn": {"fi": "Peruttu tarkentuneiden tietojen vuoksi",
                  "sv": "Återkallad efter reviderade uppgifter",
                  "en": "Withdrawn after revised figures"},
}  # fmt: skip

#: Staff closed a held alert, and why (resolution ``closed_by_staff``).
_CLOSED: Final[dict[str, dict[Lang, str]]] = {
    "new_normal_accepted": {
        "fi": "Henkilöstö sulki hälytyksen: uusi normaali hyväksytty",
        "sv": "Personalen stängde larmet: den nya normalnivån godtagen",
        "en": "Closed by staff: the new normal accepted",
    },
    "structural_handled": {
        "fi": "Henkilöstö sulki hälytyksen: rakennemuutos käsitelty",
        "sv": "Personalen stängde larmet: strukturförändringen behandlad",
        "en": "Closed by staff: the structural change has been dealt with",
    },
    "false_alarm": {
        "fi": "Henkilöstö sulki hälytyksen: väärä hälytys",
        "sv": "Personalen stängde larmet: falskt larm",
        "en": "Closed by staff: a false alarm",
    },
}
_CLOSED_ANY: Final[dict[Lang, str]] = {
    "fi": "Henkilöstö sulki hälytyksen", "sv": "Personalen stängde larmet",
    "en": "Closed by staff",
}  # fmt: skip

_NOTICE_KINDS: Final[dict[NoticeKind, tuple[str, str, str]]] = {
    NoticeKind.DISMISSAL: ("irtisanominen", "uppsägning", "dismissal"),
    NoticeKind.TEMPORARY_LAYOFF: ("lomautus", "permittering", "temporary layoff"),
    NoticeKind.PART_TIME_LAYOFF: (
        "osa-aikainen lomautus", "deltidspermittering", "part-time layoff"),
    NoticeKind.CLOSURE: ("toiminnan lopettaminen", "nedläggning", "closure"),
}  # fmt: skip

_LANG_INDEX: Final[dict[Lang, int]] = {"fi": 0, "sv": 1, "en": 2}
#: A percentage is quoted only against an expected level at least this large ...
PERCENT_MIN_BASE: Final = 20.0
#: ... and only up to this relative change (1,000 %); otherwise "from about X to Y".
PERCENT_MAX: Final = 10.0
#: How an ELY area is named where it could be taken for the region of the same name.
_ELY_LABEL: Final[dict[Lang, str]] = {"fi": "ELY-alue", "sv": "NTM-område", "en": "ELY area"}


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """Everything an explanation may mention; built by the alerting stage."""

    kind: AlertKind
    polarity: Polarity
    status: AlertStatus
    resolution: str | None
    area: str
    area_name: Localized
    sector: str | None
    sector_name: Localized | None
    occupation: str | None
    period: int
    evidence: Sequence[SignalEvidence]
    notices: Sequence[NoticeEvidence]
    notice_count: int
    notice_persons: int
    also_in: Sequence[Localized]
    also_in_codes: Sequence[str] = ()
    #: Why staff closed the alert (with resolution ``closed_by_staff``).
    closure: str | None = None


def fmt_number(value: float, lang: Lang) -> str:
    """``value`` as the language writes numbers (``1,234`` in English, ``1 234`` otherwise)."""
    text = f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:,.2f}"
    if lang == "en":
        return text
    return text.replace(",", " ").replace(".", ",")


def fmt_percent(change: float, lang: Lang) -> str:
    """A relative change as a signed percentage (``+12%``; ``+12 %`` in Finnish and Swedish)."""
    pct = f"{change * 100:+.0f}"
    return f"{pct} %" if lang != "en" else f"{pct}%"


def month_phrase(period: int, lang: Lang) -> str:
    """The phrase "in <month> <year>" for a month index, inflected as the language needs."""
    name, year = _MONTHS[lang][period % 12], period // 12
    if lang == "fi":
        return f"{name}ssa {year}"
    return f"i {name} {year}" if lang == "sv" else f"in {name} {year}"


def _pick(localized: Localized, lang: Lang) -> str:
    return str(getattr(localized, lang))


def explain(facts: AlertFacts) -> Localized:
    """The alert's one-sentence explanation in Finnish, Swedish and English."""
    texts = {lang: _sentence(facts, lang) for lang in LANGS}
    return Localized(fi=texts["fi"], sv=texts["sv"], en=texts["en"])


def _sentence(facts: AlertFacts, lang: Lang) -> str:
    lead = _LEAD[facts.polarity][lang]
    if facts.status is AlertStatus.RESOLVED and facts.resolution == "closed_by_staff":
        closed = _CLOSED.get(facts.closure or "", _CLOSED_ANY)[lang]
        lead = f"{closed} — {lead[0].lower()}{lead[1:]}"
    elif facts.status is AlertStatus.RESOLVED and facts.resolution in _RESOLVED:
        lead = f"{_RESOLVED[facts.resolution][lang]} — {lead[0].lower()}{lead[1:]}"
    if facts.kind is AlertKind.LAYOFF_NOTICES:
        body = _notices_sentence(facts, lang)
    elif facts.kind is AlertKind.OUTLIER:
        body = _outlier_sentence(facts, lang)
    else:
        body = _figure_sentence(facts, lang)
    return f"{lead}: {body}{_also_in(facts, lang)}"


def _where(facts: AlertFacts, lang: Lang) -> str:
    place = f"{_pick(facts.area_name, lang)} ({facts.area})"
    if facts.sector_name is not None:
        label = {"fi": "toimiala", "sv": "näringsgren", "en": "industry"}[lang]
        place += f", {label} {_pick(facts.sector_name, lang)} ({facts.sector})"
    if facts.occupation is not None:
        label = {"fi": "ammattiryhmä", "sv": "yrkesgrupp", "en": "occupation"}[lang]
        title = occupation_title(facts.occupation)
        named = f" {_pick(title, lang)}" if title is not None else ""
        place += f", {label} {facts.occupation}{named}"
    return place


def _headline_evidence(evidence: Sequence[SignalEvidence]) -> SignalEvidence:
    """The change at its peak: the level detectors' largest excess (latest month on a tie)."""
    level = [e for e in evidence if e.detector not in ("divergence", "isolation_forest")]
    return max(level or evidence, key=lambda e: (abs(e.value - e.baseline), e.period))


def quotable_change(value: float, baseline: float) -> float | None:
    """The relative change if a percentage of it means something, else None.

    >>> quotable_change(121.0, 100.0)
    0.21
    >>> quotable_change(11.0, 0.0) is None, quotable_change(500.0, 40.0) is None
    (True, True)
    """
    if abs(baseline) < PERCENT_MIN_BASE:
        return None
    change = (value - baseline) / abs(baseline)
    return round(change, 6) if abs(change) <= PERCENT_MAX else None


#: The expectation of a share detector: the area's earlier share of the country's figure.
_SHARE_EXPECTED: Final[dict[Lang, str]] = {
    "fi": "kun alueen aiemman osuuden mukaan koko maan luvusta odotettu taso oli noin",
    "sv": "mot cirka {base} om områdets andel av hela landets siffra hade hållits",
    "en": "against about {base} had its share of the country's figure stayed as before",
}


def _figure_sentence(facts: AlertFacts, lang: Lang) -> str:
    measure = MEASURES[facts.kind][_LANG_INDEX[lang]]
    head = _headline_evidence(facts.evidence)
    verb = _ROSE[lang][0 if head.direction == "up" else 1]
    value, base = fmt_number(head.value, lang), fmt_number(head.baseline, lang)
    change = quotable_change(head.value, head.baseline)
    month = month_phrase(period_index_of(head.period), lang)
    where = _where(facts, lang)
    diverges = any(e.detector == "divergence" for e in facts.evidence)
    share = head.detector == "relative_shift"
    if change is None:
        # No percentage against a level near zero: say where it went from and to.
        text = {
            "fi": f"{measure} alueella {where} {verb} {month} tasolta noin {base} tasolle {value}.",
            "sv": f"{measure} i {where} {verb} {month} från cirka {base} till {value}.",
            "en": f"{measure} in {where} {verb} {month} from about {base} to {value}.",
        }[lang]
    elif lang == "fi":
        expected = _SHARE_EXPECTED["fi"] if share else "kun odotettu taso oli noin"
        pct = fmt_percent(change, lang)
        text = f"{measure} alueella {where} {verb} {month}: {value}, {expected} {base} ({pct})."
    elif lang == "sv":
        expected = _SHARE_EXPECTED["sv"].format(base=base) if share else f"mot väntat cirka {base}"
        text = (
            f"{measure} i {where} {verb} {month}: {value} {expected} ({fmt_percent(change, lang)})."
        )
    else:
        expected = (
            _SHARE_EXPECTED["en"].format(base=base) if share else f"against about {base} expected"
        )
        pct = fmt_percent(change, lang)
        text = f"{measure} in {where} {verb} {month}: {value} {expected} ({pct})."
    if diverges:
        text += {
            "fi": " Kehitys poikkeaa ympäröivästä alueesta ja koko maasta.",
            "sv": " Utvecklingen avviker från omgivningen och hela landet.",
            "en": " It diverges from the surrounding area and the country.",
        }[lang]
    return text + _rarity(facts.evidence, lang)


def period_index_of(period: str) -> int:
    """The month index of a ``YYYY-MM`` period."""
    year, month = period.split("-")
    return int(year) * 12 + int(month) - 1


def _rarity(evidence: Sequence[SignalEvidence], lang: Lang) -> str:
    """How rare a change of this size is here, from the engine's calibration (when known)."""
    years = max((e.once_in_years for e in evidence if e.once_in_years is not None), default=None)
    if years is None or years < 1:
        return ""
    n = fmt_number(round(years), lang)
    return {
        "fi": f" Näin suuri muutos nähdään täällä keskimäärin noin kerran {n} vuodessa.",
        "sv": f" En så stor förändring ses här i genomsnitt ungefär en gång på {n} år.",
        "en": f" A change this large happens here about once in {n} years.",
    }[lang]


def _notices_sentence(facts: AlertFacts, lang: Lang) -> str:
    count, persons = facts.notice_count, fmt_number(facts.notice_persons, lang)
    month, where = month_phrase(facts.period, lang), _where(facts, lang)
    largest = max(facts.notices, key=lambda n: (n.persons, n.notice_id), default=None)
    if lang == "fi":
        notices = "ilmoitus" if count == 1 else "ilmoitusta"
        people = "henkilö" if facts.notice_persons == 1 else "henkilöä"
        text = (
            f"{count} muutosneuvottelu- tai lomautus{notices}, yhteensä {persons} {people}, "
            f"alueella {where} {month} — selvästi tavallista enemmän."
        )
    elif lang == "sv":
        notices = "anmälan" if count == 1 else "anmälningar"
        people = "person" if facts.notice_persons == 1 else "personer"
        text = (
            f"{count} {notices} om uppsägningar eller permitteringar som berör {persons} "
            f"{people} i {where} {month} — klart fler än vanligt."
        )
    else:
        notices = "layoff notice" if count == 1 else "layoff notices"
        people = "person" if facts.notice_persons == 1 else "people"
        text = (
            f"{count} {notices} affecting {persons} {people} in {where} {month} — "
            "well above the usual."
        )
    if largest is not None:
        label = {"fi": "Suurin", "sv": "Största", "en": "Largest"}[lang]
        kind = _NOTICE_KINDS[largest.kind][_LANG_INDEX[lang]]
        text += f" {label}: {largest.employer} ({fmt_number(largest.persons, lang)}, {kind})."
    return text


def _outlier_sentence(facts: AlertFacts, lang: Lang) -> str:
    head = _headline_evidence(facts.evidence)
    month, where = month_phrase(facts.period, lang), _where(facts, lang)
    value, base = fmt_number(head.value, lang), fmt_number(head.baseline, lang)
    if lang == "fi":
        return (
            f"alueen {where} työmarkkinatilanne {month} poikkeaa muista alueista ja alueen "
            f"omasta historiasta: työttömiä {value}, koko maan kehityksen mukaan noin {base}."
        )
    if lang == "sv":
        return (
            f"arbetsmarknadsläget i {where} {month} avviker från andra områden och områdets "
            f"egen historia: {value} arbetslösa, enligt hela landets utveckling cirka {base}."
        )
    return (
        f"the labour market in {where} {month} is unusual compared with other areas and its "
        f"own history: {value} unemployed, about {base} had it followed the country."
    )


def _also_in(facts: AlertFacts, lang: Lang) -> str:
    """Other areas that show the same change, never the alert's own.

    An ELY area and the region of the same name (the same territory) are listed once.
    """
    merged: dict[str, list[str]] = {}
    own = _pick(facts.area_name, lang)
    for name, code in zip(facts.also_in, facts.also_in_codes, strict=False):
        if code == facts.area:
            continue
        text = _pick(name, lang)
        if code.startswith("ELY") and text == own:
            continue  # the ELY area of the same name as the alert's region: the same place
        merged.setdefault(text, []).append(code)
    if not merged:
        return ""
    items = []
    for text, codes in merged.items():
        if len(codes) == 1 and codes[0].startswith("ELY"):
            items.append(f"{text} ({_ELY_LABEL[lang]}, {codes[0]})")
        else:
            items.append(f"{text} ({', '.join(codes)})")
    shown = items[:8]
    more = len(items) - len(shown)
    listed = ", ".join(shown) + (f" (+{more})" if more > 0 else "")
    label = {"fi": "Sama muutos myös", "sv": "Samma förändring även i", "en": "Also seen in"}[lang]
    return f" {label}: {listed}."
