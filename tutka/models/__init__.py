"""The boundary: frozen pydantic events, alerts and dead letters, area hierarchies, codes.

Everything the pipeline reads or writes is validated here, once; the other layers import these
models and nothing above them.
"""
