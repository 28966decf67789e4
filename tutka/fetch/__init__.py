"""Live sources: Statistics Finland's PxWeb tables into the stream, incrementally, with revisions.

``tutka fetch statfin`` (:mod:`tutka.cli.fetch`) runs :class:`~tutka.fetch.runner.Fetcher` per
configured table (``tutka/config/statfin.toml``). The decisions are pure — the table's layout
(:mod:`~tutka.fetch.layout`), what to ask (:mod:`~tutka.fetch.plan`), JSON-stat decoding
(:mod:`~tutka.fetch.jsonstat`), what is new or revised (:mod:`~tutka.fetch.diff`) — and the shell
around them talks HTTP (:mod:`~tutka.fetch.client`), keeps state (:mod:`~tutka.fetch.store`) and
delivers (:mod:`~tutka.fetch.sinks`). README, "Live sources", has the whole story.
"""
