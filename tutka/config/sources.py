"""Live sources: the PxWeb tables ``tutka fetch statfin`` reads (``tutka/config/statfin.toml``).

A table is described by where it is, which of its variables hold the month, the area, the measure
and (optionally) the occupation or sector, which measure codes become which of our measures, and
what every other variable is held at. The description is validated at start-up; whether the real
table still has that layout is checked against its metadata on every fetch
(:mod:`tutka.fetch.layout`).

>>> tables = load_tables()
>>> sorted(tables)
['12r5', '12ti']
>>> tables["12r5"].measures["TYOTTOMATLOPUSSA"].value
'unemployed_jobseekers'
>>> tables["12ti"].occupation
'Ammattiryhmä'
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tutka.models.events import UnemploymentMeasure, VacancyMeasure

SHIPPED = "statfin.toml"
#: The tables fetched when none are named.
DEFAULT_TABLES = ("12r5", "12ti")

TableId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Variable = Annotated[str, Field(min_length=1, max_length=100)]
ValueCode = Annotated[str, Field(min_length=1, max_length=100)]


class TableSpec(BaseModel):
    """One PxWeb table and how its cells become figures."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = ""
    path: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-/ÄÖÅäöå]+\.px$")]
    source: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")]
    time: Variable
    area: Variable
    measure: Variable
    occupation: Variable | None = None
    sector: Variable | None = None
    measures: dict[ValueCode, UnemploymentMeasure | VacancyMeasure] = Field(min_length=1)
    fixed: dict[Variable, ValueCode] = Field(default_factory=dict)
    areas: Literal["*"] | tuple[ValueCode, ...] = "*"
    area_prefix: Annotated[str, Field(pattern=r"^[A-Z]{0,3}$")] = ""
    total: ValueCode = "SSS"

    @model_validator(mode="after")
    def _variables_distinct(self) -> TableSpec:
        named = [self.time, self.area, self.measure, self.occupation, self.sector, *self.fixed]
        used = [v for v in named if v is not None]
        doubled = sorted({v for v in used if used.count(v) > 1})
        if doubled:
            raise ValueError(f"a variable has one role only; used twice: {', '.join(doubled)}")
        if self.areas != "*" and not self.areas:
            raise ValueError('areas must be "*" or a non-empty list of area codes')
        return self

    @property
    def roles(self) -> dict[str, str]:
        """Role → the configured variable (time, area, measure, occupation, sector)."""
        roles = {"time": self.time, "area": self.area, "measure": self.measure}
        if self.occupation is not None:
            roles["occupation"] = self.occupation
        if self.sector is not None:
            roles["sector"] = self.sector
        return roles


class SourceTables(BaseModel):
    """Every configured table, by id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tables: dict[TableId, TableSpec] = Field(min_length=1)


def load_tables(path: Path | None = None) -> dict[str, TableSpec]:
    """The tables of ``path`` (default: the shipped ``statfin.toml``), validated.

    Raises ``ValueError`` with every problem spelled out, never a traceback's worth.
    """
    where = str(path) if path is not None else f"tutka/config/{SHIPPED}"
    try:
        if path is None:
            text = resources.files("tutka.config").joinpath(SHIPPED).read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the tables file {where}: {exc}") from exc
    try:
        return dict(SourceTables.model_validate(raw).tables)
    except ValidationError as exc:
        problems = "\n".join(
            f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"invalid tables file {where}:\n{problems}") from exc
