"""The banked detectors by catalogue name, with the reference detector each one reproduces."""

from __future__ import annotations

from typing import Final, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

from tutka.detectors.bank.bocpd import BOCPDBank
from tutka.detectors.bank.cusum import CUSUMBank
from tutka.detectors.bank.relative_shift import RelativeShiftBank
from tutka.detectors.bank.seasonal_baseline import SeasonalBaselineBank
from tutka.detectors.base import DetectorParams
from tutka.detectors.bocpd import BOCPD, BOCPDParams
from tutka.detectors.cusum import CUSUM, CUSUMParams
from tutka.detectors.relative_shift import RelativeShift, RelativeShiftParams
from tutka.detectors.seasonal_baseline import SeasonalBaseline, SeasonalBaselineParams

AnyBank = CUSUMBank | SeasonalBaselineBank | BOCPDBank | RelativeShiftBank
T = TypeVar("T", bound=DetectorParams)


class Banked(NamedTuple):
    """A bank class, the reference detector class and its hyperparameters' class."""

    bank: type[CUSUMBank] | type[SeasonalBaselineBank] | type[BOCPDBank] | type[RelativeShiftBank]
    reference: type[CUSUM] | type[SeasonalBaseline] | type[BOCPD] | type[RelativeShift]
    params: type[DetectorParams]


BANKS: Final[dict[str, Banked]] = {
    BOCPDBank.name: Banked(BOCPDBank, BOCPD, BOCPDParams),
    CUSUMBank.name: Banked(CUSUMBank, CUSUM, CUSUMParams),
    RelativeShiftBank.name: Banked(RelativeShiftBank, RelativeShift, RelativeShiftParams),
    SeasonalBaselineBank.name: Banked(
        SeasonalBaselineBank, SeasonalBaseline, SeasonalBaselineParams
    ),
}


def create(
    name: str, params: DetectorParams | None = None, dtype: npt.DTypeLike = np.float64
) -> AnyBank:
    """A bank for detector ``name``; ``ValueError`` naming the banked ones for any other."""
    if name == CUSUMBank.name:
        return CUSUMBank(_params(params, CUSUMParams), dtype)
    if name == BOCPDBank.name:
        return BOCPDBank(_params(params, BOCPDParams), dtype)
    if name == RelativeShiftBank.name:
        return RelativeShiftBank(_params(params, RelativeShiftParams), dtype)
    if name == SeasonalBaselineBank.name:
        return SeasonalBaselineBank(_params(params, SeasonalBaselineParams), dtype)
    raise ValueError(f"no bank for detector {name!r}; banked: {', '.join(sorted(BANKS))}")


def _params(params: DetectorParams | None, cls: type[T]) -> T | None:
    if params is None or isinstance(params, cls):
        return params
    raise ValueError(f"expected {cls.__name__}, got {type(params).__name__}")
