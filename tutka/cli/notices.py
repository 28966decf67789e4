"""``tutka notices import``: layoff notices from a spreadsheet into the pipeline."""

from __future__ import annotations

from pathlib import Path

import click

from tutka.cli.context import load_context
from tutka.inputs.notice_sheet import SheetResult, parse_sheet, rejected_csv
from tutka.inputs.notice_store import append_store, publish_notices

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


@click.group("notices")
def notices_group() -> None:
    """Layoff notices: import the spreadsheets ELY centres keep."""


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


notices_group.add_command(import_command)
