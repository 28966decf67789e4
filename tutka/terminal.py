"""What the terminal shows: labels in fi/sv/en, open alerts largest first, tables that fold.

Tables never cut a cell into "…": at 80 columns, or piped (rich then assumes 80), long cells fold
onto the next line, so event names and places stay whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from rich import box
from rich.console import Console
from rich.table import Table

from tutka.models.alerts import Alert, AlertStatus
from tutka.streams.explain import LANGS, Lang
from tutka.streams.picture import ordered

_LABELS: Final[dict[str, tuple[str, str, str]]] = {
    "open_alerts": ("Avoimet hälytykset, suurimmat ensin", "Öppna larm, största först",
                    "Open alerts, largest first"),
    "none_open": ("Ei avoimia hälytyksiä.", "Inga öppna larm.", "No open alerts."),
    "more": ("… ja {n} muuta (--top)", "… och {n} till (--top)", "… and {n} more (--top)"),
    "persons": ("henkilöä", "personer", "persons"),
    "vacancies": ("työpaikkaa", "lediga jobb", "vacancies"),
    "of_force": ("työvoimasta", "av arbetskraften", "of the labour force"),
    "confidence": ("varmuus", "säkerhet", "confidence"),
    "opened": ("avattu", "öppnat", "opened"),
    "kind": ("laji", "typ", "kind"),
    "polarity": ("suunta", "riktning", "polarity"),
    "total": ("yhteensä", "totalt", "total"),
    "by_kind": ("Hälytykset lajin, suunnan ja vakavuuden mukaan",
                "Larm efter typ, riktning och allvarlighet",
                "Alerts by kind, polarity and severity"),
    "dead_by_reason": ("Hylätyt rivit syyn mukaan", "Avvisade rader efter orsak",
                       "Dead letters by reason"),
    "reason": ("syy", "orsak", "reason"),
    "count": ("määrä", "antal", "count"),
    "negative": ("heikentävä", "negativ", "negative"),
    "positive": ("myönteinen", "positiv", "positive"),
    "watch": ("seuranta", "bevakning", "watch"),
    "warning": ("varoitus", "varning", "warning"),
    "critical": ("kriittinen", "kritisk", "critical"),
    "notable": ("merkittävä", "betydande", "notable"),
    "strong": ("vahva", "stark", "strong"),
    "low": ("matala", "låg", "low"),
    "medium": ("kohtalainen", "medel", "medium"),
    "high": ("korkea", "hög", "high"),
    "level2": ("varoitus / merkittävä", "varning / betydande", "warning / notable"),
    "level3": ("kriittinen / vahva", "kritisk / stark", "critical / strong"),
    # tutka demo
    "demo_title": ("Muutostutkan demo — synteettiset Suomen työmarkkinat",
                   "Muutostutka-demo — en syntetisk finländsk arbetsmarknad",
                   "Muutostutka demo — a synthetic Finnish labour market"),
    "demo_truth": ("Mitä lisättiin, ja milloin Muutostutka huomasi sen",
                   "Vad som lades in, och när Muutostutka sade det",
                   "What was injected, and when Muutostutka said so"),
    "injected": ("lisätty tapahtuma", "inlagd händelse", "injected event"),
    "reference": ("viiteajankohta", "referensmånad", "reference"),
    "first_alert": ("ensimmäinen hälytys", "första larmet", "first alert"),
    "available": ("saatavilla", "tillgängligt", "available"),
    "delay": ("viive", "fördröjning", "delay"),
    "alerts": ("hälytyksiä", "larm", "alerts"),
    "not_found": ("ei löytynyt", "hittades inte", "not found"),
    "months": ("kk", "mån", "mo"),
    "all_alerts": ("Kaikki hälytykset: {n}", "Alla larm: {n}", "All alerts: {n}"),
    "all_alerts_tail": (
        " — {hit} osoittaa lisättyyn tapahtumaan, {other} ei (suhdanteet, taustan ilmoitukset ja "
        "kohina — analyytikon harkinta). Tärkeimmät niistä:",
        " — {hit} pekar på en inlagd händelse, {other} gör det inte (konjunkturen, bakgrundens "
        "anmälningar och brus — analytikerns bedömning). Viktigast av dem:",
        " — {hit} point at an injected event; {other} do not (the business cycle, background "
        "notice bursts and noise — the analyst's call). Most important of those:"),
    "what_says": ("Mitä hälytys sanoo", "Vad ett larm säger", "What an alert says"),
    "outputs": ("Tulokset", "Resultat", "Outputs"),
    "done": ("Valmis {s} sekunnissa.", "Klart på {s} s.", "Done in {s} s."),
    # tutka replay, tutka backtest: the summary and what was written
    "read": (
        "Luettiin {records} tietuetta: {events} tapahtumaa ({by_type}), {dead} hylättyä riviä"
        "{blank}, {suppressed} salattua solua (tyhjiä lähteessä). {alerts} hälytystä "
        "({versions} versiota) {s} sekunnissa ({rate} havaintoa/s, muistin huippu {mib} MiB).",
        "Läste {records} poster: {events} händelser ({by_type}), {dead} avvisade rader{blank}, "
        "{suppressed} skyddade celler (tomma i källan). {alerts} larm ({versions} versioner) på "
        "{s} s ({rate} observationer/s, minnestopp {mib} MiB).",
        "Read {records} records: {events} events ({by_type}), {dead} dead letters{blank}, "
        "{suppressed} suppressed cells (blank in the source). {alerts} alerts ({versions} "
        "versions) in {s} s ({rate} observations/s, peak memory {mib} MiB)."),
    "blank_skipped": (", {n} tyhjää riviä ohitettu", ", {n} tomma rader överhoppade",
                      ", {n} blank lines skipped"),
    "type_layoff_notice": ("ilmoitukset", "anmälningar", "layoff_notice"),
    "type_unemployment": ("työttömyysluvut", "arbetslöshetstal", "unemployment"),
    "type_vacancies": ("työpaikkaluvut", "vakanstal", "vacancies"),
    "calibrated": (
        "Kalibroidut kynnysarvot ({detector}, vääriä hälytyksiä 100 aluevuotta kohden): {parts}.",
        "Kalibrerade tröskelvärden ({detector}, falsklarm per 100 områdesår): {parts}.",
        "Calibrated thresholds ({detector}, false alarms per 100 area-years): {parts}."),
    "calibrated_part": (
        "{where} {threshold} (budjetti {budget}, historiassa {history}, {years} aluevuotta)",
        "{where} {threshold} (budget {budget}, historik {history} över {years} områdesår)",
        "{where} {threshold} (budget {budget}, history {history} over {years} area-years)"),
    "breakdowns": ("erittelyt", "uppdelningar", "breakdowns"),
    "unknown_areas": (
        "{records} tietuetta nimeää {codes} aluekoodia, joita aluehierarkiassa ({areas} aluetta) "
        "ei ole: {shown}{more}. Ne ovat hylättyjä rivejä (validation:unknown_area). Muiden "
        "vuosien kunnille anna Tilastokeskuksen vastaavuustaulukko valitsimella --areas (esim. "
        "regions_by_year_2020_2025.csv, vuosi: TUTKA_AREAS__YEAR) tai luettele koodit "
        "aluetiedostossa.",
        "{records} poster anger {codes} områdeskoder som saknas i områdeshierarkin ({areas} "
        "områden): {shown}{more}. De är avvisade rader (validation:unknown_area). För andra års "
        "kommuner, ge Statistikcentralens korrespondenstabell med --areas (t.ex. "
        "regions_by_year_2020_2025.csv, året: TUTKA_AREAS__YEAR) eller lista koderna i en "
        "områdesfil.",
        "{records} records name {codes} area codes outside the area hierarchy ({areas} areas): "
        "{shown}{more}. They are dead letters (validation:unknown_area). For other years' "
        "municipalities pass Statistics Finland's correspondence with --areas (e.g. "
        "regions_by_year_2020_2025.csv, TUTKA_AREAS__YEAR for the year), or list the codes in an "
        "areas file."),
    "and_more": (" ja {n} muuta", " och {n} till", " and {n} more"),
    "alerts_written": ("Hälytykset kirjoitettu tiedostoon [bold]{path}[/bold]",
                       "Larmen skrevs till [bold]{path}[/bold]",
                       "Alerts written to [bold]{path}[/bold]"),
    "dead_written": ("Hylätyt rivit kirjoitettu tiedostoon [bold]{path}[/bold]",
                     "Avvisade rader skrevs till [bold]{path}[/bold]",
                     "Dead letters written to [bold]{path}[/bold]"),
    "all_rejected": (
        "Kaikki {n} tietuetta hylättiin: ei tapahtumia. Onko tiedosto ja sen muoto oikea?",
        "Alla {n} poster avvisades: inga händelser. Är det rätt fil och format?",
        "Every one of the {n} records was rejected: no events. Is this the right file and "
        "format?"),
    "lingering": ("mittarit ja avoimet hälytykset tarjolla {s} s (Ctrl-C lopettaa)",
                  "mätvärden och öppna larm serveras i {s} s (Ctrl-C avbryter)",
                  "serving metrics and open alerts for {s} s (Ctrl-C to stop)"),
    "replaying": ("toistetaan", "spelar upp", "replaying"),
}  # fmt: skip
_INDEX: Final[dict[str, int]] = {"fi": 0, "sv": 1, "en": 2}
#: Terminal colours: red and yellow for harm, green for good news, cyan for watch.
SEVERITY_STYLE: Final = {
    "critical": "bold red",
    "warning": "yellow",
    "strong": "bold green",
    "notable": "green",
    "watch": "cyan",
}


def label(key: str, lang: str) -> str:
    """A report label in ``lang`` (fi, sv or en)."""
    return _LABELS[key][_INDEX[lang]]


def number(value: float, lang: str, decimals: int = 0) -> str:
    """``value`` with thousands grouped as ``lang`` writes them (1,234.5 / 1 234,5).

    >>> number(12345.678, "en", 1), number(12345.678, "fi", 1)
    ('12,345.7', '12 345,7')
    """
    text = f"{value:,.{decimals}f}"
    if lang == "en":
        return text
    return text.replace(",", " ").replace(".", ",")


def check_lang(lang: str) -> Lang:
    """``lang`` as one of the languages, or ``ValueError``."""
    if lang not in LANGS:
        raise ValueError(f"language {lang!r} is not one of {', '.join(LANGS)}")
    return lang


def table(title: str) -> Table:
    """A table whose cells fold instead of being cut short."""
    return Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")


def column(t: Table, name: str, right: bool = False) -> None:
    """Add a column that folds long cells onto more lines."""
    t.add_column(name, justify="right" if right else "left", overflow="fold")


def _fmt(value: float, lang: str) -> str:
    text = f"{value:,.0f}"
    return text if lang == "en" else text.replace(",", " ")


def alert_heading(alert: Alert, lang: str) -> str:
    """One line: severity, polarity, place, persons affected and share, confidence."""
    sev = alert.severity.value
    place = f"{getattr(alert.area_name, lang)} ({alert.area})"
    unit = label("vacancies" if alert.kind.value == "vacancies" else "persons", lang)
    size = f"{_fmt(alert.impact, lang)} {unit}" if alert.impact else ""
    if alert.labour_share is not None and alert.impact:
        pct = f"{alert.labour_share * 100:.1f}".replace(".", "," if lang != "en" else ".")
        size += f" ({pct} % {label('of_force', lang)})"
    conf = (
        f"{label('confidence', lang)} {label(alert.confidence, lang)}" if alert.confidence else ""
    )
    parts = [p for p in (place, size, conf, f"{label('opened', lang)} {alert.opened_period}") if p]
    return (
        f"[{SEVERITY_STYLE[sev]}]{label(sev, lang)}[/] · {label(alert.polarity.value, lang)} · "
        + " · ".join(parts)
    )


def print_open_alerts(console: Console, alerts: Iterable[Alert], lang: str, top: int) -> None:
    """The open alerts, most important first, each with its explanation in ``lang``."""
    shown: Sequence[Alert] = ordered(a for a in alerts if a.status is not AlertStatus.RESOLVED)
    console.print()
    console.rule(f"[bold]{label('open_alerts', lang)} ({len(shown):,})")
    if not shown:
        console.print(label("none_open", lang))
        return
    for number, alert in enumerate(shown[:top], start=1):
        console.print(f"{number:>3}. {alert_heading(alert, lang)}", overflow="fold")
        console.print(f"     {getattr(alert.explanation, lang)}", overflow="fold", highlight=False)
    if len(shown) > top:
        console.print(label("more", lang).format(n=len(shown) - top))


def folding(t: Table) -> Table:
    """``t`` with every column folding long cells instead of cutting them to "…"."""
    for col in t.columns:
        col.overflow = "fold"
        col.no_wrap = False
    t.box = box.SIMPLE_HEAD
    return t
