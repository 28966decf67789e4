"""Detectors: one algorithm per module behind one protocol, with versioned JSON state.

:mod:`tutka.detectors.base` holds the protocol (``assess``/``update``/``ready``/``snapshot``)
and the shared plumbing; :mod:`tutka.detectors.registry` finds a detector by its catalogue
name. Detectors score and learn; they never send alerts.
"""
