"""A table's layout: its PxWeb metadata checked against what the tables file says it holds.

Pure: the metadata comes in as parsed JSON, the area hierarchy as a predicate. A table whose
layout changed — a variable renamed or gone, a measure code gone, an area the hierarchy does not
know, a variable nobody said what to do with — stops the fetch with :class:`LayoutError`, whose
message says what was found and what to change. It never turns into wrong figures.

>>> from tutka.config.sources import load_tables
>>> meta = {"title": "t", "variables": [
...     {"code": "Alue", "text": "Alue", "values": ["SSS", "MK19", "XX1"]},
...     {"code": "Tiedot", "text": "Tiedot", "values": ["TYOTTOMATLOPUSSA", "AVPAIKATLOPUSSA",
...                                                      "TYOVOIMATK", "OTHER"]},
...     {"code": "Kuukausi", "text": "Kuukausi", "values": ["2023M09", "2023M10"], "time": True}]}
>>> layout = resolve("12r5", load_tables()["12r5"], meta, {"SSS", "MK19"}.__contains__)
>>> layout.periods, sorted(layout.areas.values()), layout.skipped_areas
(('2023-09', '2023-10'), ['MK19', 'SSS'], ('XX1',))
>>> layout.selection(["2023-10"])["Kuukausi"]
['2023M10']
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from tutka.config.sources import TableSpec
from tutka.models.codes import area_level, period_str
from tutka.models.events import UnemploymentMeasure, VacancyMeasure

Measure = UnemploymentMeasure | VacancyMeasure
_MONTH: Final = re.compile(r"([0-9]{4})M(0[1-9]|1[0-2])")
_ISCO: Final = re.compile(r"[0-9]{1,4}|X[0-9]{0,3}")
_TOL: Final = re.compile(r"[A-U]|[0-9]{2,5}")
#: How many offending codes a message lists before it says "and N more".
SHOWN: Final = 12


class LayoutError(ValueError):
    """The table's layout is not what the tables file describes; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Variable:
    code: str
    text: str
    values: tuple[str, ...]
    time: bool
    elimination: bool


@dataclass(frozen=True)
class Layout:
    """Where each role lives in one table, and which of its value codes to ask for."""

    table: str
    spec: TableSpec
    title: str
    #: Every variable's code, in the table's order.
    variables: tuple[str, ...]
    time: str
    #: Time value code → period ("2023M10" → "2023-10"), in the table's order.
    months: Mapping[str, str]
    area: str
    #: Area value code → our area code.
    areas: Mapping[str, str]
    measure: str
    #: Measure value code → our measure.
    measures: Mapping[str, Measure]
    #: Occupation (or sector) variable code and value code → ISCO (TOL) code, None for the total.
    occupation: str | None = None
    occupations: Mapping[str, str | None] = field(default_factory=dict)
    sector: str | None = None
    sectors: Mapping[str, str | None] = field(default_factory=dict)
    fixed: Mapping[str, str] = field(default_factory=dict)
    #: Area codes of the table at a level Muutostutka does not watch (not asked for).
    skipped_areas: tuple[str, ...] = ()

    @property
    def periods(self) -> tuple[str, ...]:
        return tuple(self.months.values())

    def selection(self, periods: Iterable[str]) -> dict[str, list[str]]:
        """The query's selection for ``periods``: variable code → value codes, table order."""
        wanted = set(periods)
        chosen: dict[str, list[str]] = {
            self.time: [code for code, period in self.months.items() if period in wanted],
            self.area: list(self.areas),
            self.measure: list(self.measures),
            **{code: [value] for code, value in self.fixed.items()},
        }
        if self.occupation is not None:
            chosen[self.occupation] = list(self.occupations)
        if self.sector is not None:
            chosen[self.sector] = list(self.sectors)
        return {code: chosen[code] for code in self.variables if code in chosen}

    @property
    def fingerprint(self) -> str:
        """A digest of everything but the months: a change means the layout moved."""
        parts = {
            "variables": self.variables,
            "areas": sorted(self.areas.items()),
            "measures": sorted((k, v.value) for k, v in self.measures.items()),
            "occupations": sorted(self.occupations.items(), key=str),
            "sectors": sorted(self.sectors.items(), key=str),
            "fixed": sorted(self.fixed.items()),
        }
        blob = json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def variables_of(metadata: Any) -> tuple[str, list[Variable]]:
    """The title and variables of PxWeb v1 table metadata (``GET`` on the table's path)."""
    if not isinstance(metadata, Mapping) or not isinstance(metadata.get("variables"), list):
        raise LayoutError("the table's metadata has no 'variables': is the path a table?")
    found = []
    for raw in metadata["variables"]:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("values"), list):
            raise LayoutError(f"a variable in the table's metadata is malformed: {raw!r:.200}")
        code = str(raw.get("code", raw.get("text", "")))
        found.append(
            Variable(
                code=code,
                text=str(raw.get("text", code)),
                values=tuple(str(v) for v in raw["values"]),
                time=bool(raw.get("time", False)),
                elimination=bool(raw.get("elimination", False)),
            )
        )
    return str(metadata.get("title", "")), found


def resolve(
    table: str, spec: TableSpec, metadata: Any, known_area: Callable[[str], bool]
) -> Layout:
    """The layout of ``table`` from its metadata, or :class:`LayoutError` with every problem."""
    title, variables = variables_of(metadata)
    where = f"[tables.{table}] in the tables file (tutka fetch statfin --tables FILE)"
    problems: list[str] = []
    by_role: dict[str, Variable] = {}
    for role, name in spec.roles.items():
        variable = _find(variables, name)
        if variable is None and role == "time":
            timed = [v for v in variables if v.time]  # PxWeb flags the time variable
            variable = timed[0] if len(timed) == 1 else None
        if variable is None:
            have = ", ".join(f"{v.code!r}" + (f" ({v.text})" if v.text != v.code else "")
                             for v in variables)  # fmt: skip
            problems.append(
                f"the table has no variable {name!r} (the {role}), by code or label; it has "
                f'{have}. If it was renamed, set {role} = "…" in {where}.'
            )
        else:
            by_role[role] = variable
    fixed: dict[str, str] = {}
    for name, value in spec.fixed.items():
        variable = _find(variables, name)
        if variable is None:
            problems.append(f"the fixed variable {name!r} is not in the table; remove it from "
                            f"`fixed` in {where}.")  # fmt: skip
        elif value not in variable.values:
            problems.append(f"variable {name!r} has no value {value!r} to be held at; it has "
                            f"{_listed(variable.values)}.")  # fmt: skip
        else:
            fixed[variable.code] = value
    assigned = {v.code for v in by_role.values()} | set(fixed)
    for variable in variables:
        if variable.code not in assigned and not variable.elimination:
            problems.append(
                f"variable {variable.code!r} ({variable.text}) is neither mapped nor fixed, and "
                f'the table cannot leave it out: add `fixed = {{ "{variable.code}" = "…" }}` '
                f"(one of {_listed(variable.values)}) to {where}."
            )
    if problems:
        raise LayoutError(_message(table, spec, problems))

    months = _months(by_role["time"], problems)
    areas, skipped = _areas(spec, by_role["area"], known_area, problems)
    measures = _measures(spec, by_role["measure"], problems, where)
    occupations = (
        _classes(spec, by_role["occupation"], _ISCO, "ISCO-08 occupation", problems)
        if "occupation" in by_role
        else {}
    )
    sectors = (
        _classes(spec, by_role["sector"], _TOL, "TOL 2008 sector", problems)
        if "sector" in by_role
        else {}
    )
    if problems:
        raise LayoutError(_message(table, spec, problems))
    return Layout(
        table=table,
        spec=spec,
        title=title,
        variables=tuple(v.code for v in variables),
        time=by_role["time"].code,
        months=months,
        area=by_role["area"].code,
        areas=areas,
        measure=by_role["measure"].code,
        measures=measures,
        occupation=by_role["occupation"].code if "occupation" in by_role else None,
        occupations=occupations,
        sector=by_role["sector"].code if "sector" in by_role else None,
        sectors=sectors,
        fixed=fixed,
        skipped_areas=skipped,
    )


def _find(variables: Sequence[Variable], name: str) -> Variable | None:
    for variable in variables:
        if variable.code == name:
            return variable
    matches = [v for v in variables if v.text.casefold() == name.casefold()]
    return matches[0] if len(matches) == 1 else None


def _months(variable: Variable, problems: list[str]) -> dict[str, str]:
    months: dict[str, str] = {}
    bad = []
    for code in variable.values:
        match = _MONTH.fullmatch(code)
        if match is None:
            bad.append(code)
            continue
        months[code] = period_str(int(match.group(1)) * 12 + int(match.group(2)) - 1)
    if bad:
        problems.append(
            f"time variable {variable.code!r} has values that are not months (YYYYMmm): "
            f"{_listed(bad)}; only monthly tables can be fetched."
        )
    return months


def _areas(
    spec: TableSpec, variable: Variable, known: Callable[[str], bool], problems: list[str]
) -> tuple[dict[str, str], tuple[str, ...]]:
    wanted = variable.values if spec.areas == "*" else spec.areas
    missing = [code for code in wanted if code not in variable.values]
    if missing:
        problems.append(f"area variable {variable.code!r} has no {_listed(missing)}: remove "
                        f"them from `areas` in the tables file.")  # fmt: skip
    areas: dict[str, str] = {}
    skipped: list[str] = []
    unknown: list[str] = []
    for code in wanted:
        if code in missing:
            continue
        ours = spec.area_prefix + code
        try:
            area_level(ours)
        except ValueError:
            if spec.areas == "*":
                skipped.append(code)  # another kind of area (e.g. employment areas): not ours
                continue
            unknown.append(code)
            continue
        if known(ours):
            areas[code] = ours
        else:
            unknown.append(ours)
    if unknown:
        problems.append(
            f"the table has areas the area hierarchy does not know: {_listed(unknown)}. If the "
            "municipal classification changed, give the new one (tutka --areas FILE, e.g. "
            "Statistics Finland's correspondence file for the year, or TUTKA_AREAS__PATH); to "
            "leave them out meanwhile, list the areas wanted in `areas = [...]`."
        )
    return areas, tuple(skipped)


def _measures(
    spec: TableSpec, variable: Variable, problems: list[str], where: str
) -> dict[str, Measure]:
    measures: dict[str, Measure] = {}
    for code, measure in spec.measures.items():
        if code in variable.values:
            measures[code] = measure
            continue
        # Statistics Finland's June 2026 change may prefix an analysis variable's value codes.
        prefixed = [v for v in variable.values if v.endswith(code) and v != code]
        if len(prefixed) == 1:
            measures[prefixed[0]] = measure
        else:
            problems.append(
                f"measure variable {variable.code!r} has no value {code!r}; it has "
                f"{_listed(variable.values)}. Map the new code under [tables.…measures] in "
                f"{where}."
            )
    return measures


def _classes(
    spec: TableSpec, variable: Variable, pattern: re.Pattern[str], what: str, problems: list[str]
) -> dict[str, str | None]:
    classes: dict[str, str | None] = {}
    bad = []
    for code in variable.values:
        if code == spec.total:
            classes[code] = None
        elif pattern.fullmatch(code):
            classes[code] = code
        else:
            bad.append(code)
    if bad:
        problems.append(f"variable {variable.code!r} has values that are not {what} codes: "
                        f"{_listed(bad)}.")  # fmt: skip
    return classes


def _listed(codes: Sequence[str]) -> str:
    shown = ", ".join(codes[:SHOWN])
    return shown + (f" and {len(codes) - SHOWN} more" if len(codes) > SHOWN else "")


def _message(table: str, spec: TableSpec, problems: list[str]) -> str:
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"table {table} ({spec.path}) does not have the layout configured for it:\n{lines}"
