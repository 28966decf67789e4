"""Short plain-language explanations of alerts in Finnish, Swedish and English.

The texts state what changed, where, when, by how much against what was expected, and how many
detectors agree. They avoid inflecting place names (Finnish case endings), so every area name can
be used as it is.

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

_MEASURES: Final[dict[AlertKind, tuple[str, str, str]]] = {
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
    "reversed": {"fi": "Päättynyt, muutos kääntyi", "sv": "Avslutad, förändringen vände",
                 "en": "Resolved, the change reversed"},
    "withdrawn": {"fi": "Peruttu tarkentuneiden tietojen vuoksi",
                  "sv": "Återkallad efter reviderade uppgifter",
                  "en": "Withdrawn after revised figures"},
}  # fmt: skip

_NOTICE_KINDS: Final[dict[NoticeKind, tuple[str, str, str]]] = {
    NoticeKind.DISMISSAL: ("irtisanominen", "uppsägning", "dismissal"),
    NoticeKind.TEMPORARY_LAYOFF: ("lomautus", "permittering", "temporary layoff"),
    NoticeKind.PART_TIME_LAYOFF: (
        "osa-aikainen lomautus", "deltidspermittering", "part-time layoff"),
    NoticeKind.CLOSURE: ("toiminnan lopettaminen", "nedläggning", "closure"),
}  # fmt: skip

_LANG_INDEX: Final[dict[Lang, int]] = {"fi": 0, "sv": 1, "en": 2}


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
    if facts.status is AlertStatus.RESOLVED and facts.resolution in _RESOLVED:
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
        place += f", {label} {facts.occupation}"
    return place


def _headline_evidence(evidence: Sequence[SignalEvidence]) -> SignalEvidence:
    latest = max(e.period for e in evidence)
    current = [e for e in evidence if e.period == latest]
    level = [e for e in current if e.detector not in ("divergence", "isolation_forest")]
    return max(level or current, key=lambda e: abs(e.value - e.baseline))


#: The expectation of a share detector: the area's earlier share of the country's figure.
_SHARE_EXPECTED: Final[dict[Lang, str]] = {
    "fi": "kun alueen aiemman osuuden mukaan koko maan luvusta odotettu taso oli noin",
    "sv": "mot cirka {base} om områdets andel av hela landets siffra hade hållits",
    "en": "against about {base} had its share of the country's figure stayed as before",
}


def _figure_sentence(facts: AlertFacts, lang: Lang) -> str:
    measure = _MEASURES[facts.kind][_LANG_INDEX[lang]]
    head = _headline_evidence(facts.evidence)
    verb = _ROSE[lang][0 if head.direction == "up" else 1]
    value, base = fmt_number(head.value, lang), fmt_number(head.baseline, lang)
    change = (head.value - head.baseline) / max(abs(head.baseline), 1e-9)
    pct = fmt_percent(change, lang)
    month = month_phrase(facts.period, lang)
    detectors = len({e.detector for e in facts.evidence})
    where = _where(facts, lang)
    diverges = any(e.detector == "divergence" for e in facts.evidence)
    share = head.detector == "relative_shift"
    if lang == "fi":
        expected = _SHARE_EXPECTED["fi"] if share else "kun odotettu taso oli noin"
        text = (
            f"{measure} alueella {where} {verb} {month}: {value}, {expected} "
            f"{base} ({pct}). Tunnistimia samaa mieltä: {detectors}."
        )
        if diverges:
            text += " Kehitys poikkeaa ympäröivästä alueesta ja koko maasta."
    elif lang == "sv":
        expected = _SHARE_EXPECTED["sv"].format(base=base) if share else f"mot väntat cirka {base}"
        text = (
            f"{measure} i {where} {verb} {month}: {value} {expected} "
            f"({pct}). Detektorer som är eniga: {detectors}."
        )
        if diverges:
            text += " Utvecklingen avviker från omgivningen och hela landet."
    else:
        expected = (
            _SHARE_EXPECTED["en"].format(base=base) if share else f"against about {base} expected"
        )
        text = (
            f"{measure} in {where} {verb} {month}: {value} {expected} "
            f"({pct}). Detectors in agreement: {detectors}."
        )
        if diverges:
            text += " It diverges from the surrounding area and the country."
    return text + _rarity(facts.evidence, lang)


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
    if not facts.also_in:
        return ""
    names = [_pick(n, lang) for n in facts.also_in[:8]]
    names = [f"{name} ({code})" for name, code in zip(names, facts.also_in_codes, strict=False)]
    more = len(facts.also_in) - len(names)
    listed = ", ".join(names) + (f" (+{more})" if more > 0 else "")
    label = {"fi": "Sama muutos myös", "sv": "Samma förändring även i", "en": "Also seen in"}[lang]
    return f" {label}: {listed}."
