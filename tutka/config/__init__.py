"""Configuration: the detector catalogue, the area hierarchy, sector names and settings.

The data files (``detectors.toml``, ``areas.csv``, ``sectors_tol2008.csv``) are installed with
the package; :mod:`tutka.config.settings` is the one place that reads the environment.
"""
