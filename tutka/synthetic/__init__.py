"""Synthetic Finnish labour-market data with known structural changes, for demos and benchmarks.

:func:`generate` simulates every municipality of an area hierarchy month by month (unemployed
job-seekers and their make-up, labour force, open and new vacancies, layoff notices) with Finnish
seasonality, a shared business cycle, local drift and count noise, then injects structural
changes and records them as ground truth. The default ``fixed`` scenario (the demo's) has four:

1. a nationwide downturn (2020-03), unemployment up 38-47 % within three months, recovering;
2. a pulp mill closure in Kemi (notices 2022-09, unemployed up ~350 for good from 2023-01);
3. a temporary-layoff wave at a Rauma shipyard (2019-02) that recovers after about six months;
4. a hiring surge in Vaasa (2021-09): vacancies up 65-85 % for good, unemployment down.

Detectors tuned on fixed places and dates would learn them, so backtests use the ``random``
scenario: each seed draws 8-12 events (``RANDOM_EVENTS``) of five kinds — plant closures with
dismissal notices (lasting), temporary-layoff waves (recovering), hiring surges (positive),
sector downturns across several municipalities of a region, and now and then a nationwide shock —
in random municipalities, months and magnitudes. Magnitudes are drawn against the local noise
(a quarter of the events are subtle on purpose: confidence ``low``) and capped at realistic sizes
for the place, so a closure that shakes a village disappears in a city. Events keep apart in
place and time (``_SAME_MUNICIPALITY_GAP``, ``_SAME_ELY_GAP``) and leave two years of history
before them and one after. Tune on ``tutka.evaluation.seeds.DEVELOPMENT_SEEDS``; report the
evaluation seeds once.

Scale: a run has ``areas x 10 + municipalities x occupations x 2`` series (see
``SyntheticPlan.series``); :func:`synthetic_hierarchy` invents up to 999 municipalities without
shared data, and :func:`write_plan` streams the figures to disk, so 10^5 series over ten years
take about a minute and under 1 GB of memory (``tutka simulate --municipalities 999
--occupations 50``).

Sub-region, region, ELY and country series are exact integer sums of their municipalities, as
in Statistics Finland's tables. :func:`write` stores the events as JSON lines plus ``truth.csv``
(the scorecard format) and ``manifest.json``.

Levels and shapes are set by eye against Statistics Finland / TEM table 12r5 (2006-2023, not
copied): unemployment is high in January, lowest in May, peaks in July (students) and is low in
October-November; the vacancy stock peaks in February at about 1.5x its autumn level; regional
series carry one to three per cent of irregular noise, small municipalities much more.

Randomness flows only from ``seed``. Each municipality and measure draws from its own stream, so
a municipality's first-release figures do not depend on which other municipalities the hierarchy
holds, and a month's figures do not depend on the window asked for, as long as no injected event
differs before it. (Revisions, notices and employer names are drawn per dataset; the random
scenario places its events within the window and among the areas it is given.)

Figures are built from one fully validated figure per series (see ``figures._series``): validating
every one of ~165 000 figures through the models would take seconds. Every notice is fully
validated.

The package follows the generator's parts: :mod:`~tutka.synthetic.dataset` (what it produces),
:mod:`~tutka.synthetic.calendar`, :mod:`~tutka.synthetic.randomness`,
:mod:`~tutka.synthetic.seasonality`, :mod:`~tutka.synthetic.municipalities` and
:mod:`~tutka.synthetic.areas` (the ingredients), :mod:`~tutka.synthetic.market` (the latent
market), :mod:`~tutka.synthetic.notices`, :mod:`~tutka.synthetic.occupations`, the injected changes
(:mod:`~tutka.synthetic.effects`, :mod:`~tutka.synthetic.fixed`,
:mod:`~tutka.synthetic.random_scenario`), :mod:`~tutka.synthetic.figures`,
:mod:`~tutka.synthetic.generator` and :mod:`~tutka.synthetic.files`. Import from here.

>>> from tutka.models.areas import Area, Hierarchy
>>> tiny = Hierarchy([
...     Area("SSS", "Koko maa", "Hela landet", "Finland", None),
...     Area("ELY15", "Lappi", "Lappland", "Lapland", "SSS"),
...     Area("MK19", "Lappi", "Lappland", "Lapland", "ELY15"),
...     Area("SK192", "Kemi-Tornio", "Kemi-Torneå", "Kemi-Tornio", "MK19"),
...     Area("KU240", "Kemi", "Kemi", "Kemi", "SK192"),
...     Area("KU851", "Tornio", "Torneå", "Tornio", "SK192"),
... ])
>>> data = generate(seed=1, start="2021-01", end="2023-12", hierarchy=tiny)
>>> [(t.event_id, t.regions) for t in data.truth]
[('kemi-mill-closure-2022-09', ('SSS', 'ELY15', 'MK19', 'SK192', 'KU240'))]
>>> data.areas
('SSS', 'ELY15', 'MK19', 'SK192', 'KU240', 'KU851')
"""

from __future__ import annotations

from tutka.synthetic.areas import MAX_MUNICIPALITIES, synthetic_hierarchy
from tutka.synthetic.calendar import publication_date
from tutka.synthetic.dataset import (
    SOURCE,
    Confidence,
    DetailValue,
    Figure,
    Floats,
    Ints,
    Polarity,
    ScenarioName,
    SyntheticDataset,
    SyntheticEvent,
    TruthEvent,
)
from tutka.synthetic.effects import (
    DOWNTURN_ONSET,
    DOWNTURN_RECOVERY_MONTHS,
    DOWNTURN_RISE,
    LAID_OFF_RECOVERY_MONTHS,
    NOTICE_SURGE,
)
from tutka.synthetic.files import FILES, TRUTH_COLUMNS, write, write_plan
from tutka.synthetic.fixed import (
    KEMI,
    KEMI_ANNOUNCED,
    KEMI_CLOSURE_DELAY,
    KEMI_SPILL_OVER,
    RAUMA,
    RAUMA_ANNOUNCED,
    RAUMA_PROFILE,
    VAASA,
    VAASA_ONSET,
)
from tutka.synthetic.generator import MAX_RANDOM_EVENTS, SCENARIOS, SyntheticPlan, generate, plan
from tutka.synthetic.market import Measure
from tutka.synthetic.municipalities import MunicipalityProfile, municipality_profile
from tutka.synthetic.notices import EMPLOYER_VOCABULARY, SECTION_OCCUPATIONS, NoticeSurge
from tutka.synthetic.occupations import ISCO_08_UNIT_GROUPS, occupation_codes
from tutka.synthetic.random_scenario import RANDOM_EVENTS

__all__ = [
    "DOWNTURN_ONSET",
    "DOWNTURN_RECOVERY_MONTHS",
    "DOWNTURN_RISE",
    "EMPLOYER_VOCABULARY",
    "FILES",
    "ISCO_08_UNIT_GROUPS",
    "KEMI",
    "KEMI_ANNOUNCED",
    "KEMI_CLOSURE_DELAY",
    "KEMI_SPILL_OVER",
    "LAID_OFF_RECOVERY_MONTHS",
    "MAX_MUNICIPALITIES",
    "MAX_RANDOM_EVENTS",
    "NOTICE_SURGE",
    "RANDOM_EVENTS",
    "RAUMA",
    "RAUMA_ANNOUNCED",
    "RAUMA_PROFILE",
    "SCENARIOS",
    "SECTION_OCCUPATIONS",
    "SOURCE",
    "TRUTH_COLUMNS",
    "VAASA",
    "VAASA_ONSET",
    "Confidence",
    "DetailValue",
    "Figure",
    "Floats",
    "Ints",
    "Measure",
    "MunicipalityProfile",
    "NoticeSurge",
    "Polarity",
    "ScenarioName",
    "SyntheticDataset",
    "SyntheticEvent",
    "SyntheticPlan",
    "TruthEvent",
    "generate",
    "municipality_profile",
    "occupation_codes",
    "plan",
    "publication_date",
    "synthetic_hierarchy",
    "write",
    "write_plan",
]
