"""Around the pipeline: Prometheus metrics, the observer and the Alertmanager pusher.

Shell code: the runners (replay, worker, room) report to it; the pure core never imports it.
"""
