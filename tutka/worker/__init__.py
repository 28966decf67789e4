"""The Kafka shell: topics, the faust worker and the processors it runs around the pure core."""
