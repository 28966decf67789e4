"""The engine's stages, in the order a release goes through them.

:mod:`.figures` collects a release and closes it; :mod:`.detection` runs each series' detectors
(and :mod:`.revisions` rewinds them for a revised figure); :mod:`.outliers` judges areas pooled;
:mod:`.notices` tallies layoff notices; :mod:`.judging` decides across the area hierarchy;
:mod:`.alerting` turns decisions into alert versions. Every stage is a set of functions over an
:class:`~tutka.streams.stages.state.EngineState` (what the engine remembers) and an
:class:`~tutka.streams.stages.context.EngineContext` (configuration and what follows from it).
"""
