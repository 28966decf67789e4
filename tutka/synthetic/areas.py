"""The area layout of a run (municipalities and the aggregates above them) and a bigger Finland.

:func:`synthetic_hierarchy` invents municipalities with unused codes, so that a run can hold 10^5
series without shared data.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from tutka.config.areas import DEMO, shipped_areas
from tutka.models.areas import Area, Hierarchy, level_depth
from tutka.synthetic.dataset import Ints


@dataclass(frozen=True)
class _Layout:
    """Which areas are emitted and which municipalities each one sums."""

    municipalities: tuple[str, ...]
    areas: tuple[str, ...]  # broadest first; only areas with municipalities under them
    membership: Ints  # areas x municipalities, 1 where the area contains the municipality

    @classmethod
    def of(cls, hierarchy: Hierarchy) -> _Layout:
        municipalities = hierarchy.of_level("KU")
        if not municipalities:
            raise ValueError("the area hierarchy has no municipalities (KU###) to simulate")
        covered = {area for code in municipalities for area in (code, *hierarchy.ancestors(code))}
        areas = tuple(sorted(covered, key=lambda code: (level_depth(code), code)))
        row = {code: i for i, code in enumerate(areas)}
        membership = np.zeros((len(areas), len(municipalities)), dtype=np.int64)
        for j, code in enumerate(municipalities):
            for area in (code, *hierarchy.ancestors(code)):
                membership[row[area], j] = 1
        return cls(municipalities, areas, membership)

    def aggregate(self, municipal: Ints) -> Ints:
        """Sum municipal series (municipalities x months) into every emitted area, exactly."""
        # Integer matrix products bypass BLAS and are slow; float64 is exact far beyond the
        # size of any Finnish total (2**53), so multiply in floats and round back.
        if np.abs(municipal).max(initial=0) * len(self.municipalities) >= 2**52:
            raise ValueError("totals too large to aggregate exactly")
        product = self.membership.astype(np.float64) @ municipal.astype(np.float64)
        return np.rint(product).astype(np.int64)


#: Municipality codes are three digits: at most 999 municipalities.
MAX_MUNICIPALITIES: Final = 999
_MUNICIPALITIES_PER_SUB_REGION: Final = 6


def synthetic_hierarchy(municipalities: int) -> Hierarchy:
    """The shipped areas plus invented municipalities, ``municipalities`` in all.

    For scale without shared data: the new municipalities take unused codes (a fixed shuffle of
    KU001-KU999), are dealt out to the regions in turn and grouped about six to an invented
    sub-region (``SK`` + the region's two digits + a free third digit, as Statistics Finland
    numbers them). Their profiles are the deterministic stand-ins of :func:`municipality_profile`.
    The same ``municipalities`` always gives the same hierarchy.

    >>> big = synthetic_hierarchy(300)
    >>> len(big.of_level("KU")), big.ancestors("KU240")
    (300, ('SK192', 'MK19', 'ELY15', 'SSS'))
    """
    shipped = shipped_areas(DEMO)
    taken = {a.code for a in shipped}
    existing = sum(1 for a in shipped if a.code.startswith("KU"))
    if not existing <= municipalities <= MAX_MUNICIPALITIES:
        raise ValueError(
            f"municipalities must be between {existing} (the shipped ones) and "
            f"{MAX_MUNICIPALITIES}, got {municipalities}"
        )
    free = [c for c in (f"KU{n:03d}" for n in range(1, 1000)) if c not in taken]
    order = np.random.default_rng(zlib.crc32(b"synthetic municipalities")).permutation(len(free))
    regions = sorted(a.code for a in shipped if a.code.startswith("MK"))
    dealt: dict[str, list[str]] = {region: [] for region in regions}
    for k, i in enumerate(order[: municipalities - existing].tolist()):
        dealt[regions[k % len(regions)]].append(free[i])
    areas = list(shipped)
    for region, codes in dealt.items():
        areas += _invented_areas(region, sorted(codes), taken)
    return Hierarchy(areas)


def _invented_areas(region: str, codes: Sequence[str], taken: set[str]) -> list[Area]:
    if not codes:
        return []
    digits = region[2:]
    free = [f"SK{digits}{d}" for d in range(10) if f"SK{digits}{d}" not in taken]
    used = sorted(c for c in taken if c.startswith(f"SK{digits}"))
    wanted = math.ceil(len(codes) / _MUNICIPALITIES_PER_SUB_REGION)
    new = free[:wanted]
    homes = new or used  # a region out of sub-region codes fills its existing ones
    areas = [
        Area(sub, f"Seutukunta {sub[2:]}", f"Ekonomisk region {sub[2:]}", f"Sub-region {sub[2:]}",
             region)
        for sub in new
    ]  # fmt: skip
    for k, code in enumerate(codes):
        number = code[2:]
        areas.append(
            Area(code, f"Kunta {number}", f"Kommun {number}", f"Municipality {number}",
                 homes[k % len(homes)])
        )  # fmt: skip
    return areas
