"""A tiny seeded labour market for engine tests: leaf areas simulated, aggregates summed."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date

import numpy as np

from tutka.models.areas import Hierarchy
from tutka.models.codes import period_str
from tutka.models.events import LayoffNoticeFiled, UnemploymentReported, VacanciesReported

from .helpers import small_hierarchy

START = 2012 * 12  # January 2012
LEVELS = {"MK01": 20_000.0, "KU698": 1_500.0, "KU240": 1_000.0, "KU751": 300.0, "KU851": 800.0}
#: Multiplier for an area's expected unemployment in month t (months since START).
Shock = Callable[[str, int], float]


def no_shock(area: str, t: int) -> float:
    return 1.0


def published(period: int) -> date:
    nxt = period + 1
    return date(nxt // 12, nxt % 12 + 1, 25)


def figures(
    months: int = 96,
    seed: int = 1,
    unemployment: Shock = no_shock,
    vacancies: Shock = no_shock,
    hierarchy: Hierarchy | None = None,
) -> list[UnemploymentReported | VacanciesReported]:
    """Unemployed job-seekers and open vacancies for every area, in availability order."""
    h = hierarchy or small_hierarchy()
    rng = np.random.default_rng(seed)
    leaves = {a: [] for a in LEVELS}  # type: dict[str, list[tuple[int, int]]]
    for t in range(months):
        season = 1 + 0.12 * math.sin(2 * math.pi * (t % 12) / 12)
        for area, level in LEVELS.items():
            u = rng.poisson(level * season * unemployment(area, t))
            v = rng.poisson(level * 0.15 * (2 - season) * vacancies(area, t))
            leaves[area].append((int(u), int(v)))
    totals: dict[str, list[tuple[int, int]]] = dict(leaves)
    for code in sorted(h.areas, key=lambda c: -len(h.ancestors(c))):
        if code in totals:
            continue
        kids = [totals[c] for c in h.children(code) if c in totals]
        totals[code] = [
            (sum(k[t][0] for k in kids), sum(k[t][1] for k in kids)) for t in range(months)
        ]
    events: list[UnemploymentReported | VacanciesReported] = []
    for t in range(months):
        period = START + t
        for area in sorted(totals):
            u, v = totals[area][t]
            common = {"area": area, "period": period_str(period), "published": published(period)}
            events.append(UnemploymentReported(measure="unemployed_jobseekers", value=u, **common))
            events.append(VacanciesReported(measure="open_at_month_end", value=v, **common))
    return events


def notice(
    notice_id: str, announced: date, persons: int, municipality: str = "KU240", sector: str = "17"
) -> LayoffNoticeFiled:
    return LayoffNoticeFiled(
        notice_id=notice_id,
        employer="Perämeren Sellu Oy",
        business_id="0112038-9",
        municipality=municipality,
        sector=sector,
        kind="dismissal",
        persons=persons,
        announced=announced,
        effective_from=announced,
    )
