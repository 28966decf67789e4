"""The policy triggers' criteria and explanations in Finnish, Swedish and English."""

from __future__ import annotations

from typing import Final

from tutka.models.alerts import Localized, TriggerFacts, TriggerRule
from tutka.streams.explain import LANGS, Lang, fmt_number

#: Where each rule comes from (README, "Policy triggers").
SOURCES: Final[dict[TriggerRule, str]] = {
    TriggerRule.EGF_ENTERPRISE: "Regulation (EU) 2021/691, Art. 4(2)(a)",
    TriggerRule.EGF_SECTOR: "Regulation (EU) 2021/691, Art. 4(2)(b)",
    TriggerRule.SUDDEN_STRUCTURAL_CHANGE: (
        "Act on regional development (laki alueiden kehittämisestä), sudden structural change"
    ),
    TriggerRule.SAHM_RULE: "Sahm (2019), Direct Stimulus Payments to Individuals",
}


def criterion(rule: TriggerRule, threshold: float, months: int, share: float = 0.0) -> Localized:
    """The criterion in plain words, with the catalogue's numbers."""
    n = {lang: fmt_number(threshold, lang) for lang in LANGS}
    if rule is TriggerRule.EGF_ENTERPRISE:
        return Localized(
            fi=f"EGR: yli {n['fi']} irtisanottua yhdessä yrityksessä {months} kuukauden aikana "
            "(alihankkijat ja jatkojalostajat mukaan lukien)",
            sv=f"EGF: fler än {n['sv']} uppsagda i ett företag inom {months} månader "
            "(underleverantörer och producenter i efterföljande led inräknade)",
            en=f"EGF: more than {n['en']} displaced workers in one enterprise within {months} "
            "months (suppliers and downstream producers included)",
        )
    if rule is TriggerRule.EGF_SECTOR:
        return Localized(
            fi=f"EGR: yli {n['fi']} irtisanottua samalla NACE-toimialalla yhdellä tai kahdella "
            f"vierekkäisellä NUTS 2 -alueella {months} kuukauden aikana",
            sv=f"EGF: fler än {n['sv']} uppsagda i samma NACE-huvudgrupp i en eller två "
            f"angränsande NUTS 2-regioner inom {months} månader",
            en=f"EGF: more than {n['en']} displaced workers in one NACE division in one or two "
            f"contiguous NUTS 2 regions within {months} months",
        )
    if rule is TriggerRule.SUDDEN_STRUCTURAL_CHANGE:
        pct = f"{share * 100:.1f}".rstrip("0").rstrip(".")
        return Localized(
            fi=f"Äkillinen rakennemuutos: vähintään {n['fi']} pysyvästi menetettyä työpaikkaa ja "
            f"{pct} % seutukunnan työvoimasta {months} kuukauden aikana",
            sv=f"Plötslig strukturomvandling: minst {n['sv']} permanent förlorade jobb och "
            f"{pct} % av ekonomiska regionens arbetskraft inom {months} månader",
            en=f"Sudden structural change: at least {n['en']} permanent job losses and {pct}% of "
            f"the sub-region's labour force within {months} months",
        )
    pp = {lang: f"{threshold:.2f}".replace(".", "," if lang != "en" else ".") for lang in LANGS}
    return Localized(
        fi=f"Sahmin sääntö: työttömyysasteen 3 kuukauden keskiarvo vähintään {pp['fi']} "
        f"prosenttiyksikköä yli edellisen {months} kuukauden alimman",
        sv=f"Sahms regel: arbetslöshetens 3-månadersmedelvärde minst {pp['sv']} "
        f"procentenheter över det lägsta under de föregående {months} månaderna",
        en=f"Sahm rule: the 3-month average unemployment rate at least {pp['en']} percentage "
        f"points above its low of the previous {months} months",
    )


_MET: Final[dict[Lang, str]] = {
    "fi": "Kriteeri täyttyy",
    "sv": "Kriteriet uppfylls",
    "en": "Criterion met",
}
_NOT_MET: Final[dict[Lang, str]] = {
    "fi": "Kriteeri ei enää täyty",
    "sv": "Kriteriet uppfylls inte längre",
    "en": "Criterion no longer met",
}
_UNITS: Final[dict[TriggerRule, tuple[str, str, str]]] = {
    TriggerRule.EGF_ENTERPRISE: ("irtisanottua", "uppsagda", "displaced workers"),
    TriggerRule.EGF_SECTOR: ("irtisanottua", "uppsagda", "displaced workers"),
    TriggerRule.SUDDEN_STRUCTURAL_CHANGE: (
        "pysyvästi menetettyä työpaikkaa",
        "permanent förlorade jobb",
        "permanent job losses",
    ),
    TriggerRule.SAHM_RULE: ("prosenttiyksikköä", "procentenheter", "percentage points"),
}


def explanation(facts: TriggerFacts, where: Localized, area: str, met: bool) -> Localized:
    """One sentence: the criterion, whether it is met, and the measured figure."""
    texts = {}
    for i, lang in enumerate(LANGS):
        unit = _UNITS[facts.rule][i]
        value = (
            f"{facts.measured:.2f}".replace(".", "," if lang != "en" else ".")
            if facts.rule is TriggerRule.SAHM_RULE
            else fmt_number(facts.measured, lang)
        )
        span = f"{facts.window_from}…{facts.window_to}"
        lead = (_MET if met else _NOT_MET)[lang]
        texts[lang] = (
            f"{lead} ({getattr(where, lang)} ({area}), {span}): {value} {unit}. "
            f"{getattr(facts.criterion, lang)}."
        )
    return Localized(fi=texts["fi"], sv=texts["sv"], en=texts["en"])
