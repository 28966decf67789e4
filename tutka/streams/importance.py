"""How important an alert is: persons affected and share of the labour force, not polarity.

Severity says how much an alert matters for the area's labour market, never whether the news is
good or bad: the words for harm (``warning``, ``critical``) go to negative changes, the words for
good news (``notable``, ``strong``) to positive ones, at the same three levels. The size is the
change at its peak — people (or vacancies) beyond the expected level, or a notice burst's
headcount — and its share of the area's labour force where that is known. How sure the
detectors are is a separate field (``confidence``), so a large change seen by one detector is
still large, and a small one seen by three is still small.

>>> from tutka.config.catalogue import SeverityRules
>>> rules = SeverityRules()
>>> level_of(60_000, 0.023, rules), level_of(485, 0.006, rules), level_of(80, None, rules)
(3, 2, 1)
>>> severity_word(3, Polarity.POSITIVE), severity_word(3, Polarity.NEGATIVE)
(<Severity.STRONG: 'strong'>, <Severity.CRITICAL: 'critical'>)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

from tutka.config.catalogue import SeverityRules
from tutka.models.alerts import AlertKind, Polarity, Severity, SignalEvidence

#: Detectors that judge an area relative to others; their excess says little about its size.
_RELATIVE: Final = frozenset({"divergence", "isolation_forest"})
#: Kinds whose values are ratios, not head counts.
_RATIOS: Final = frozenset({AlertKind.TIGHTNESS, AlertKind.OUTLIER})

Confidence = Literal["low", "medium", "high"]


def peak(evidence: Sequence[SignalEvidence]) -> SignalEvidence | None:
    """The evidence entry with the largest change beyond the expected level (level detectors)."""
    level = [e for e in evidence if e.detector not in _RELATIVE]
    if not level:
        return None
    return max(level, key=lambda e: (abs(e.value - e.baseline), e.period))


def persons_affected(
    evidence: Sequence[SignalEvidence], notice_persons: int, kind: AlertKind
) -> float:
    """People (or vacancies) beyond the expected level at the peak; a burst's headcount."""
    if kind is AlertKind.LAYOFF_NOTICES:
        return float(notice_persons)
    if kind in _RATIOS:
        return 0.0
    top = peak(evidence)
    return 0.0 if top is None else round(abs(top.value - top.baseline), 1)


def level_of(persons: float, share: float | None, rules: SeverityRules) -> int:
    """1 (watch), 2 or 3 from the persons affected and their share of the labour force."""
    big_share = share is not None and persons >= rules.min_excess
    if persons >= rules.critical_persons or (
        big_share and share >= rules.critical_share and persons >= rules.warning_persons  # type: ignore[operator]
    ):
        return 3
    if persons >= rules.warning_persons or (big_share and share >= rules.warning_share):  # type: ignore[operator]
        return 2
    return 1


def severity_word(level: int, polarity: Polarity) -> Severity:
    """The severity word for a level: harm words for negative, good-news words for positive."""
    if level >= 3:
        return Severity.CRITICAL if polarity is Polarity.NEGATIVE else Severity.STRONG
    if level == 2:
        return Severity.WARNING if polarity is Polarity.NEGATIVE else Severity.NOTABLE
    return Severity.WATCH


def ratio_level(evidence: Sequence[SignalEvidence], rules: SeverityRules) -> int:
    """A ratio (tightness, outlier) has no head count: its relative change, at most level 2."""
    top = peak(evidence)
    if top is None or abs(top.baseline) < 1e-9:
        return 1
    change = abs(top.value - top.baseline) / abs(top.baseline)
    return 2 if change >= rules.warning_change else 1


def confidence_of(evidence: Sequence[SignalEvidence], months: int) -> Confidence:
    """How sure the detectors are: agreement, repetition and margin over the threshold."""
    detectors = {e.detector for e in evidence}
    margin = max((e.score / e.threshold for e in evidence if e.threshold > 0), default=0.0)
    if len(detectors) >= 2 or margin >= 2.0 or months >= 3:
        return "high"
    if margin >= 1.3 or months >= 2:
        return "medium"
    return "low"
