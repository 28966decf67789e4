"""The generator: :func:`generate` (everything in memory) and :func:`plan` (streamed to files)."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from tutka.config.areas import demo_hierarchy
from tutka.models.areas import Hierarchy
from tutka.models.codes import period_str
from tutka.models.events import LayoffNoticeFiled, UnemploymentMeasure, VacancyMeasure
from tutka.synthetic.areas import _Layout
from tutka.synthetic.calendar import _Timeline
from tutka.synthetic.dataset import (
    Figure,
    ScenarioName,
    SyntheticDataset,
    SyntheticEvent,
    TruthEvent,
)
from tutka.synthetic.effects import (
    DOWNTURN_ONSET,
    _downturn,
    _headline,
    _Injection,
    _visible_regions,
)
from tutka.synthetic.figures import (
    _all_series,
    _figure_events,
    _merge_by_availability,
    _revise,
    _Series,
)
from tutka.synthetic.fixed import (
    KEMI,
    KEMI_ANNOUNCED,
    RAUMA,
    RAUMA_ANNOUNCED,
    VAASA,
    VAASA_ONSET,
    _kemi_closure,
    _rauma_layoffs,
    _Scenario,
    _vaasa_surge,
)
from tutka.synthetic.market import Measure, _Expected, _sample_counts, _simulate_market
from tutka.synthetic.municipalities import municipality_profile
from tutka.synthetic.notices import _background_notices, _Employers, _notice_events
from tutka.synthetic.occupations import (
    _JOBSEEKER_RANKING,
    _VACANCY_RANKING,
    _occupation_split,
    occupation_codes,
)
from tutka.synthetic.random_scenario import _random_injections, _World

#: ``fixed``: the four demo events below; ``random``: events drawn from the seed.
SCENARIOS: Final[tuple[ScenarioName, ...]] = ("fixed", "random")
MAX_RANDOM_EVENTS: Final = 40


def generate(
    seed: int = 7,
    start: str = "2012-01",
    end: str = "2024-12",
    hierarchy: Hierarchy | None = None,
    occupations: int = 0,
    *,
    inject: bool = True,
    scenario: ScenarioName = "fixed",
    events: int | None = None,
) -> SyntheticDataset:
    """Simulate the labour market of ``hierarchy`` (default: the shipped demo areas) month by month.

    Every event is built in memory: right for the demo (~2 * 10^5 events); for millions of
    figures use :func:`plan` and :func:`write_plan`, which stream them to files.

    Args:
        seed: the only source of randomness (a non-negative integer).
        start, end: the first and last month (``YYYY-MM``) of figures and notices.
        hierarchy: the areas; every municipality is simulated and every area with municipalities
            under it gets the exact sums.
        occupations: if positive, also break municipal unemployed and open vacancies down by that
            many ISCO-08 codes (see :func:`occupation_codes`).
        inject: add the scenario's structural changes; ``False`` leaves seasonality, cycle and
            noise (the same market, month for month, up to the first change).
        scenario: ``"fixed"``, the four demo events (each only when its areas exist and its
            reference month lies in the window), or ``"random"``: ``events`` events (default
            8-12, drawn from the seed) of random kinds, places, months and strengths.
        events: with ``scenario="random"``, how many events to place.

    Raises:
        ValueError: on a bad period, an empty window, a negative seed, a bad ``occupations``, an
            unknown scenario or ``events`` without the random scenario.
    """
    return plan(
        seed, start, end, hierarchy, occupations, inject=inject, scenario=scenario, events=events
    ).dataset()


def plan(
    seed: int = 7,
    start: str = "2012-01",
    end: str = "2024-12",
    hierarchy: Hierarchy | None = None,
    occupations: int = 0,
    *,
    inject: bool = True,
    scenario: ScenarioName = "fixed",
    events: int | None = None,
) -> SyntheticPlan:
    """Simulate as :func:`generate` does, but leave the figures to be built one at a time.

    The plan holds the simulated values as integers, the notices and the truth; its figures are
    made on demand (:meth:`SyntheticPlan.figure_events`), so :func:`write_plan` can stream 10^7
    of them in little memory. Arguments and errors as for :func:`generate`.
    """
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    if events is not None and scenario != "random":
        raise ValueError("events (a number of events) needs the random scenario")
    if events is not None and not 0 <= events <= MAX_RANDOM_EVENTS:
        raise ValueError(f"events must be between 0 and {MAX_RANDOM_EVENTS}, got {events}")
    with _collector_paused():
        return _plan(
            seed, _Timeline.of(start, end), hierarchy, occupations, inject, scenario, events
        )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building events, then restore it.

    The events are acyclic and freed by reference counting; but creating ~10^5 of them triggers
    many collections that rescan the whole growing heap, a third of the demo's generation time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class SyntheticPlan:
    """A simulated market whose figures are built on demand, in order of availability."""

    seed: int
    start: str
    end: str
    occupations: int
    inject: bool
    scenario: ScenarioName
    areas: tuple[str, ...]
    notices: tuple[LayoffNoticeFiled, ...]
    truth: tuple[TruthEvent, ...]
    _series: tuple[_Series, ...] = field(repr=False)
    _timeline: _Timeline = field(repr=False)

    @property
    def series(self) -> int:
        """Figure series: areas x measures, plus municipalities x occupations x 2 measures."""
        return len(self._series)

    @property
    def months(self) -> int:
        return self._timeline.last - self._timeline.first + 1

    def figure_events(self) -> Iterator[Figure]:
        """Every figure (first releases and revisions), built one at a time."""
        return _figure_events(self._series, self._timeline)

    def events(self) -> Iterator[SyntheticEvent]:
        """Figures and notices merged in order of availability."""
        return _merge_by_availability(self.figure_events(), self.notices)

    def dataset(self) -> SyntheticDataset:
        """Build every event in memory."""
        with _collector_paused():
            return SyntheticDataset(
                seed=self.seed,
                start=self.start,
                end=self.end,
                occupations=self.occupations,
                inject=self.inject,
                areas=self.areas,
                events=tuple(self.events()),
                truth=self.truth,
                scenario=self.scenario,
                series=self.series,
            )


def _plan(
    seed: int,
    timeline: _Timeline,
    hierarchy: Hierarchy | None,
    occupations: int,
    inject: bool,
    scenario: ScenarioName,
    events: int | None,
) -> SyntheticPlan:
    codes = occupation_codes(occupations)
    hierarchy = hierarchy if hierarchy is not None else demo_hierarchy()
    layout = _Layout.of(hierarchy)
    profiles = [
        municipality_profile(code, hierarchy.ely_of(code)) for code in layout.municipalities
    ]
    index = {code: j for j, code in enumerate(layout.municipalities)}
    market = _simulate_market(seed, profiles, timeline)
    employers = _Employers(seed, {p.code: p for p in profiles})
    injections: list[_Injection] = []
    if inject and scenario == "fixed":
        injections = _injections(timeline, market.expected, _Scenario.draw(seed), index, employers)
    elif inject:
        world = _World.of(timeline, layout, hierarchy, market.labour_force, employers)
        injections = _random_injections(seed, world, market.expected, events)
    expected = injections[-1].expected if injections else market.expected
    truth = _truth(layout, timeline, market.expected, injections)

    municipal = _sample_counts(seed, profiles, market, expected)
    window = {measure: values[:, timeline.window] for measure, values in municipal.items()}
    breakdown: dict[Measure, NDArray[np.int64]] = (
        {
            UnemploymentMeasure.UNEMPLOYED_JOBSEEKERS: _occupation_split(
                seed,
                profiles,
                window[UnemploymentMeasure.UNEMPLOYED_JOBSEEKERS],
                codes,
                _JOBSEEKER_RANKING,
                0,
            ),
            VacancyMeasure.OPEN_AT_MONTH_END: _occupation_split(
                seed, profiles, window[VacancyMeasure.OPEN_AT_MONTH_END], codes, _VACANCY_RANKING, 1
            ),
        }
        if codes
        else {}
    )
    series = _all_series(
        layout,
        timeline,
        {m: layout.aggregate(v) for m, v in window.items()},
        _revise(seed, layout, window),
        breakdown,
        codes,
    )

    surge = next((i.surge for i in injections if i.surge is not None), None)
    planned = [n for injection in injections for n in injection.notices]
    for j, p in enumerate(profiles):
        planned += _background_notices(
            seed,
            p,
            market.labour_force[j],
            float(market.sensitivity[j]),
            market,
            timeline,
            surge,
            employers,
        )
    return SyntheticPlan(
        seed=seed,
        start=period_str(timeline.first),
        end=period_str(timeline.last),
        occupations=occupations,
        inject=inject,
        scenario=scenario,
        areas=layout.areas,
        notices=tuple(_notice_events(planned, timeline)),
        truth=tuple(truth),
        _series=tuple(series),
        _timeline=timeline,
    )


def _injections(
    timeline: _Timeline,
    expected: _Expected,
    scenario: _Scenario,
    index: dict[str, int],
    employers: _Employers,
) -> list[_Injection]:
    """Apply the fixed scenario's changes in turn, each to the expectations left by the last."""
    done: list[_Injection] = []
    if timeline.contains(RAUMA_ANNOUNCED) and RAUMA in index:
        done.append(_rauma_layoffs(timeline, expected, scenario, index, employers))
    if timeline.contains(DOWNTURN_ONSET):
        done.append(
            _downturn(timeline, done[-1].expected if done else expected, scenario.downturn_increase)
        )
    if timeline.contains(VAASA_ONSET) and VAASA in index:
        done.append(
            _vaasa_surge(timeline, done[-1].expected if done else expected, scenario, index)
        )
    if timeline.contains(KEMI_ANNOUNCED) and KEMI in index:
        done.append(
            _kemi_closure(
                timeline, done[-1].expected if done else expected, scenario, index, employers
            )
        )
    return done


def _truth(
    layout: _Layout, timeline: _Timeline, baseline: _Expected, injections: Sequence[_Injection]
) -> list[TruthEvent]:
    """Each change where it stands out (against the market left by the changes before it)."""
    truth = []
    before = baseline
    for injection in injections:
        visible = _visible_regions(
            layout,
            timeline,
            _headline(before, injection.headline),
            _headline(injection.expected, injection.headline),
            injection.reference_month,
        )
        shown = {*visible, *injection.home}
        truth.append(
            TruthEvent(
                event_id=injection.event_id,
                regions=tuple(area for area in layout.areas if area in shown),
                reference_month=injection.reference_month,
                polarity=injection.polarity,
                confidence=injection.confidence,
                what=injection.what,
                kind=injection.kind,
                details=injection.details,
            )
        )
        before = injection.expected
    return sorted(truth, key=lambda t: (t.reference_month, t.event_id))
