"""The pure pipeline: per-series state, release judgement, alerting and the engine that ties them.

No faust, Kafka, Prometheus, HTTP, clock or environment here: every runner (``tutka replay``,
the Kafka worker, the situation room) feeds the same :class:`~tutka.streams.engine.Engine`.
"""
