"""Developer tooling: a real local Kafka broker for development and the integration tests."""
