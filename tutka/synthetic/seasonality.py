"""Seasonality: log multipliers by calendar month, January first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from tutka.synthetic.dataset import Floats


def _centred(values: Sequence[float]) -> Floats:
    array = np.asarray(values, dtype=np.float64)
    centred: Floats = array - array.mean()
    return centred


# Roughly the national profile of 12r5 unemployed job-seekers 2006-2019 (ratio to a 12-month mean).
_UNEMPLOYMENT_SEASON: Final = _centred(
    [0.055, 0.033, 0.0, -0.031, -0.069, 0.042, 0.088, -0.027, -0.062, -0.055, -0.042, 0.064]
)
# Temporary layoffs: construction in winter, industrial summer shutdowns in July.
_LAID_OFF_SEASON: Final = _centred(
    [0.25, 0.25, 0.15, 0.0, -0.2, -0.1, 0.2, -0.1, -0.2, -0.15, -0.05, 0.15]
)
# Students and young people finishing school swell the summer figure.
_YOUTH_SEASON: Final = _centred(
    [0.0, -0.05, -0.08, -0.08, -0.02, 0.3, 0.35, 0.02, -0.15, -0.12, -0.1, -0.07]
)
# The vacancy stock peaks in February (summer jobs are advertised early), lowest in late autumn.
_VACANCY_SEASON: Final = _centred(
    [0.31, 0.57, 0.39, 0.19, 0.01, -0.24, -0.2, -0.1, -0.14, -0.21, -0.3, -0.27]
)
# New vacancies lead the stock: most are opened in January-March, few in July.
_NEW_VACANCY_SEASON: Final = _centred(
    [0.35, 0.3, 0.25, 0.1, 0.0, -0.15, -0.45, 0.05, 0.05, -0.1, -0.15, -0.25]
)
# Layoff notices cluster after the holidays and in the autumn budgeting season.
_NOTICE_SEASON: Final = np.array([1.15, 1.1, 1.0, 0.95, 0.9, 0.85, 0.6, 0.95, 1.1, 1.2, 1.2, 1.0])
_CONSTRUCTION_WINTER: Final = np.array([1.4, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.4, 1.4])
