"""Notice explanations agree in number with their counts, in all three languages."""

from __future__ import annotations

import pytest

from tutka.models.alerts import AlertKind, AlertStatus, Localized, Polarity
from tutka.models.codes import period_index
from tutka.streams.explain import AlertFacts, explain


def facts(count: int, persons: int) -> AlertFacts:
    return AlertFacts(
        kind=AlertKind.LAYOFF_NOTICES, polarity=Polarity.NEGATIVE, status=AlertStatus.OPEN,
        resolution=None, area="KU240", area_name=Localized(fi="Kemi", sv="Kemi", en="Kemi"),
        sector=None, sector_name=None, occupation=None, period=period_index("2023-10"),
        evidence=(), notices=(), notice_count=count, notice_persons=persons, also_in=(),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("count", "persons", "fi", "sv", "en"),
    [
        (1, 1, "1 muutosneuvottelu- tai lomautusilmoitus, yhteensä 1 henkilö,",
         "1 anmälan om", "1 layoff notice affecting 1 person in"),
        (3, 140, "3 muutosneuvottelu- tai lomautusilmoitusta, yhteensä 140 henkilöä,",
         "3 anmälningar om", "3 layoff notices affecting 140 people in"),
    ],
)  # fmt: skip
def test_singular_and_plural(count: int, persons: int, fi: str, sv: str, en: str) -> None:
    text = explain(facts(count, persons))
    assert fi in text.fi and sv in text.sv and en in text.en
    assert ("1 personer" not in text.sv) and ("1 people" not in text.en)
