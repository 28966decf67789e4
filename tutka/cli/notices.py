"""``tutka notices import``: layoff notices from a spreadsheet into the pipeline.

``tutka notices calibrate``: the footprint's share and lag per notice kind, estimated from
notices and figures of the same areas (:mod:`tutka.streams.footprint_fit`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from tutka.cli.context import load_context
from tutka.inputs.notice_sheet import SheetResult, parse_sheet, rejected_csv
from tutka.worker.notice_store import append_store, publish_notices

F = TypeVar("F", bound=Callable[..., Any])

_SUMMARY = {
    "fi": "{rows} riviä: {ok} ilmoitusta hyväksytty, {bad} riviä hylätty, {blank} tyhjää",
    "sv": "{rows} rader: {ok} anmälningar godkända, {bad} rader avvisade, {blank} tomma",
    "en": "{rows} rows: {ok} notices accepted, {bad} rows rejected, {blank} blank",
}
_LINE = {"fi": "rivi", "sv": "rad", "en": "line"}
_STORED = {
    "fi": "{n} ilmoitusta tallennettu: {where}",
    "sv": "{n} anmälningar sparade: {where}",
    "en": "{n} notices stored in {where}",
}
_PUBLISHED = {
    "fi": "{n} ilmoitusta julkaistu aiheeseen {where}",
    "sv": "{n} anmälningar publicerade till {where}",
    "en": "{n} notices published to {where}",
}
_IGNORED = {
    "fi": "Tuntemattomat sarakkeet ohitettiin: {cols}",
    "sv": "Okända kolumner ignorerades: {cols}",
    "en": "Unknown columns ignored: {cols}",
}


_CALIBRATED = {
    "fi": "{n} ilmoitusta ja {f} lukua luettu ({dead} virheellistä riviä ohitettu); "
    "arvioitavissa: {kinds}",
    "sv": "{n} anmälningar och {f} siffror lästa ({dead} felaktiga rader överhoppade); "
    "skattningsbara: {kinds}",
    "en": "{n} notices and {f} figures read ({dead} bad lines skipped); estimable: {kinds}",
}
_SNIPPET = {
    "fi": "Luettelon katkelma kirjoitettu: {where} (tarkista ennen käyttöä)",
    "sv": "Katalogutdrag skrivet: {where} (granska före användning)",
    "en": "Catalogue snippet written to {where} (review before use)",
}


@click.group("notices")
def notices_group() -> None:
    """Layoff notices: import the spreadsheets ELY centres keep; calibrate their footprint."""


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kafka",
    "to_kafka",
    is_flag=True,
    help="Publish to tutka.notices.v1 (TUTKA_KAFKA__*) instead of the embedded store.",
)
@click.option(
    "--store",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The embedded store, a JSON-lines file `tutka replay` reads "
    "[default: TUTKA_ROOM__DATA_DIR/notices.jsonl].",
)
@click.option(
    "--rejected",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the rejected rows (line, reasons in fi/sv/en) as CSV.",
)
@click.option(
    "--lang",
    type=click.Choice(["fi", "sv", "en"]),
    multiple=True,
    help="Language(s) of the report (repeatable) [default: fi and en].",
)
@click.option("--dry-run", is_flag=True, help="Validate and report; store or publish nothing.")
@click.pass_context
def import_command(ctx: click.Context, path: Path, to_kafka: bool, store: Path | None,
                   rejected: Path | None, lang: tuple[str, ...],
                   dry_run: bool) -> None:  # fmt: skip
    """Validate the notices in PATH (.xlsx or .csv, one notice per row) and send the valid ones.

    Columns may be named in English, Finnish or Swedish (notice_id/ilmoitusnumero,
    employer/työnantaja, business_id/Y-tunnus, municipality/kunta, sector/toimiala, kind/laji,
    persons/henkilömäärä, announced/ilmoituspäivä, effective_from/alkamispäivä, …). Each row is
    validated with the same model the pipeline reads; a row that is not a valid notice is
    reported by its line with the reasons, and nothing else is lost. Exit status 1 when any row
    was rejected (the valid ones are still sent).
    """
    context = load_context(ctx)
    langs = lang or ("fi", "en")
    try:
        result = parse_sheet(path, context.hierarchy)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    assert result.complete, "every row is a notice, a rejected row or blank"
    _report(result, langs)
    if rejected is not None:
        write_rejected(result, rejected)
    notices = [n for _, n in result.notices]
    if not dry_run and notices:
        if to_kafka:
            sent, where = publish_notices(context.settings.kafka, notices)
            for code in langs:
                click.echo(_PUBLISHED[code].format(n=sent, where=where))
        else:
            target = store or context.settings.room.data_dir / "notices.jsonl"
            append_store(target, notices)
            for code in langs:
                click.echo(_STORED[code].format(n=len(notices), where=target))
    if result.rejected:
        ctx.exit(1)


def _report(result: SheetResult, langs: tuple[str, ...]) -> None:
    for code in langs:
        click.echo(
            _SUMMARY[code].format(
                rows=result.rows,
                ok=len(result.notices),
                bad=len(result.rejected),
                blank=result.blank,
            )
        )
        if result.ignored_columns:
            click.echo(_IGNORED[code].format(cols=", ".join(result.ignored_columns)))
    for row in result.rejected:
        for code in langs:
            reasons = "; ".join(getattr(r, code) for r in row.reasons)
            click.echo(f"  {_LINE[code]} {row.line}: {reasons}", err=True)


def write_rejected(result: SheetResult, path: Path) -> None:
    """The rejected rows as CSV: line, notice id, and the reasons in each language."""
    path.write_text(rejected_csv(result.rejected), encoding="utf-8", newline="")


def _input_paths(name: str, what: str) -> Callable[[F], F]:
    """A required, repeatable ``--NAME`` of input files or directories (``NAME_paths``)."""
    return click.option(
        f"--{name}",
        f"{name}_paths",
        multiple=True,
        required=True,
        type=click.Path(exists=True, path_type=Path),
        help=f"{what} (.jsonl or .csv, optionally .gz, or a directory).",
    )


@click.command("calibrate")
@_input_paths("notices", "Notices as the pipeline reads them")
@_input_paths("figures", "Monthly figures of the same areas")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the catalogue snippet ([footprint.kinds.*]) here instead of printing it.",
)
@click.option("--measure", default="unemployed_jobseekers", show_default=True,
              help="The figures' measure the notices should show up in.")  # fmt: skip
@click.option("--max-lag", type=click.IntRange(0, 24), default=6, show_default=True,
              help="Longest lag tried (months after the notice takes effect).")  # fmt: skip
@click.option("--draws", type=click.IntRange(0, 10_000), default=200, show_default=True,
              help="Bootstrap resamples of areas for the intervals.")  # fmt: skip
@click.option("--seed", type=int, default=17, show_default=True)
@click.option("--min-notices", type=click.IntRange(1), default=50, show_default=True,
              help="Fewer notices of a kind: not estimable.")  # fmt: skip
@click.option("--min-areas", type=click.IntRange(2), default=5, show_default=True,
              help="Notices of a kind in fewer areas: not estimable.")  # fmt: skip
@click.option("--lang", type=click.Choice(["fi", "sv", "en"]), multiple=True,
              help="Language(s) of the summary (repeatable) [default: fi and en].")  # fmt: skip
@click.pass_context
def calibrate_command(ctx: click.Context, notices_paths: tuple[Path, ...],
                      figures_paths: tuple[Path, ...], out: Path | None, measure: str,
                      max_lag: int, draws: int, seed: int, min_notices: int, min_areas: int,
                      lang: tuple[str, ...]) -> None:  # fmt: skip
    """Estimate each notice kind's footprint share and lag from notices and figures.

    Regresses the figures' year-on-year change on the notices' footprint (the catalogue's
    shape) lagged 0..MAX_LAG months, with month effects, per area; prints the estimates with
    90 % bootstrap intervals as a table, and a [footprint.kinds.*] catalogue snippet. Kinds with
    too few notices are reported as not estimable and keep their defaults.
    """
    from tutka.inputs import input_files, read_records
    from tutka.models.deadletter import DeadLetter
    from tutka.models.events import LayoffNoticeFiled, UnemploymentReported
    from tutka.streams.footprint_fit import fit_footprints, snippet, table

    context = load_context(ctx)
    langs = lang or ("fi", "en")
    notices: list[LayoffNoticeFiled] = []
    figures: list[UnemploymentReported] = []
    dead = 0
    for path in input_files([*notices_paths, *figures_paths]):
        for record in read_records(path):
            item = record.item
            if isinstance(item, LayoffNoticeFiled):
                notices.append(item)
            elif isinstance(item, UnemploymentReported):
                figures.append(item)
            elif isinstance(item, DeadLetter):
                dead += 1
    rules = context.catalogue.footprint
    try:
        fit = fit_footprints(notices, figures, rules, measure=measure, max_lag=max_lag,
                             draws=draws, seed=seed, min_notices=min_notices,
                             min_areas=min_areas)  # fmt: skip
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    kinds = ", ".join(k.kind.value for k in fit.kinds if k.estimable) or "-"
    for code in langs:
        click.echo(_CALIBRATED[code].format(n=len(notices), f=len(figures), dead=dead,
                                            kinds=kinds))  # fmt: skip
    click.echo()
    click.echo(table(fit))
    click.echo()
    text = snippet(fit, rules)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        for code in langs:
            click.echo(_SNIPPET[code].format(where=out))


notices_group.add_command(import_command)
notices_group.add_command(calibrate_command)
