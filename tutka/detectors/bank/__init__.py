"""Detector banks: one detector's state for many series as columns, a release at a time.

The per-observation detectors of :mod:`tutka.detectors` are the reference (and serve
high-frequency streams); a bank computes what they compute for every series of a release with
vector operations, one algorithm per module as they are. See :mod:`tutka.detectors.bank.base`.
"""
