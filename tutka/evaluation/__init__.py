"""Measuring the detectors: the NAB scoring method and labour-market backtest scorecards.

Pure code (no clock, no files, no environment): the shells in ``tutka.nab`` and ``tutka.backtest``
read the data, call these functions and print the results.
"""
