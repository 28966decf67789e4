"""Topic names and settings: persisted contracts, versioned in their names (STYLE.md §4).

Renaming a topic orphans its consumer groups and changelogs: bump the version instead. An
optional namespace prefix (``TUTKA_KAFKA__NAMESPACE``, e.g. ``staging.``) lets several
environments — or test runs — share one cluster without sharing topics.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Final, NoReturn

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_incrementing,
)

from tutka.config.settings import KafkaSettings
from tutka.models.subscriptions import subscription_topic

DAY_MS: Final = 24 * 3600 * 1000
#: The longest one attempt of :func:`ensure_topics_in_thread` may take (kafka-python's own
#: bootstrap and request timeouts are 30 s each), and how many attempts it makes.
ADMIN_TIMEOUT_SECONDS: Final = 45.0
ADMIN_ATTEMPTS: Final = 3

log = logging.getLogger("tutka.worker")


class BrokerUnavailable(RuntimeError):
    """The broker did not do what the worker needs within a bounded time (infrastructure)."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]


@dataclass(frozen=True)
class Topics:
    """The names of every topic, for one namespace."""

    namespace: str = ""

    def _name(self, base: str) -> str:
        return f"{self.namespace}{base}"

    @property
    def notices(self) -> str:
        return self._name("tutka.notices.v1")

    @property
    def unemployment(self) -> str:
        return self._name("tutka.unemployment.v1")

    @property
    def vacancies(self) -> str:
        return self._name("tutka.vacancies.v1")

    @property
    def inputs(self) -> tuple[str, str, str]:
        return (self.notices, self.unemployment, self.vacancies)

    @property
    def events(self) -> str:
        """Validated events, one ordered stream per dataset (internal)."""
        return self._name("tutka.events.v1")

    @property
    def alerts(self) -> str:
        return self._name("tutka.alerts.v1")

    @property
    def releases(self) -> str:
        """One record per release closed by its markers once it is judged (keyed by dataset)."""
        return self._name("tutka.releases.v1")

    @property
    def deadletter(self) -> str:
        return self._name("tutka.deadletter.v1")

    @property
    def subscriptions(self) -> str:
        return self._name("tutka.subscriptions.v1")

    @property
    def casenotes(self) -> str:
        """Case work on alerts from the situation room (keyed by alert id)."""
        return self._name("tutka.casenotes.v1")

    @property
    def closures(self) -> str:
        """Staff closing held alerts: commands to the engine, naming no one (keyed by alert id)."""
        return self._name("tutka.closures.v1")

    @property
    def delivery_deadletter(self) -> str:
        """Subscription deliveries that failed for good, kept for replay."""
        return self._name("tutka.deliveries.deadletter.v1")

    @property
    def app_id(self) -> str:
        """Names the consumer group and the changelog of the engine checkpoints."""
        return self._name("tutka-worker-v1")

    def subscription(self, subscription_id: str) -> str:
        return self._name(subscription_topic(subscription_id))

    def of_type(self, event_type: str) -> str:
        """Which input topic an event type belongs on."""
        return {
            "layoff_notice": self.notices,
            "unemployment": self.unemployment,
            "vacancies": self.vacancies,
        }[event_type]

    def type_of(self, topic: str) -> str:
        """The event type an input topic carries (``unknown`` for any other topic)."""
        types = {self.notices: "layoff_notice", self.unemployment: "unemployment",
                 self.vacancies: "vacancies"}  # fmt: skip
        return types.get(topic, "unknown")

    def specs(self, settings: KafkaSettings) -> list[TopicSpec]:
        """Every topic the worker needs, with partitions and retention from settings."""
        keep = {"retention.ms": str(settings.retention_days * DAY_MS)}
        compacted = {"cleanup.policy": "compact"}
        p = settings.partitions
        return [
            *(TopicSpec(name, p, keep) for name in self.inputs),
            TopicSpec(self.events, p, keep),
            TopicSpec(self.alerts, p, keep),
            TopicSpec(self.releases, p, keep),
            TopicSpec(self.deadletter, p, keep),
            TopicSpec(self.delivery_deadletter, p, keep),
            TopicSpec(self.subscriptions, 1, compacted),
            TopicSpec(self.casenotes, p, keep),
            TopicSpec(self.closures, p, keep),
        ]


def topics_for(settings: KafkaSettings) -> Topics:
    return Topics(settings.namespace)


def ensure_topics(
    settings: KafkaSettings, extra: list[TopicSpec] | None = None, timeout_ms: int = 30_000
) -> list[str]:
    """Create the missing topics; returns the names created. Existing topics are left alone.

    Synchronous (kafka-python), for ``timeout_ms`` per step (bootstrap, each request) or longer:
    never call it from inside an event loop, use :func:`ensure_topics_in_thread` there.
    """
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap,
        client_id="tutka-admin",
        bootstrap_timeout_ms=timeout_ms,
        request_timeout_ms=timeout_ms,
    )
    try:
        existing = set(admin.list_topics())
        wanted = topics_for(settings).specs(settings) + list(extra or [])
        created = []
        for spec in wanted:
            if spec.name in existing:
                continue
            new = NewTopic(
                spec.name, spec.partitions, settings.replication, topic_configs=spec.config
            )
            try:
                admin.create_topics([new])
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass  # another worker created it first
        return created
    finally:
        admin.close()


async def ensure_topics_in_thread(
    settings: KafkaSettings,
    extra: list[TopicSpec] | None = None,
    *,
    timeout: float = ADMIN_TIMEOUT_SECONDS,
    attempts: int = ADMIN_ATTEMPTS,
    backoff: float = 1.0,
) -> list[str]:
    """:func:`ensure_topics` from inside an event loop: in a thread, bounded, retried.

    kafka-python's admin client is synchronous, and its waits have no overall bound: called in
    the loop, it stops the whole worker for as long as it takes. Here each attempt runs in a
    thread and may take ``timeout`` seconds; an attempt that times out, or fails with an error
    its library marks retriable (the broker unreachable, the controller moving), is retried
    after ``backoff`` × its number seconds. After ``attempts`` the broker counts as unavailable
    (:class:`BrokerUnavailable`, an infrastructure error: the worker ends with status 70 for a
    restart). Any other error (a refused topic) is raised at once. An attempt that timed out goes
    on in its thread until kafka-python gives up; creating a topic twice is harmless.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    # kafka-python's own timeouts below the bound: a normal failure comes from it, with its cause.
    timeout_ms = max(1, int(timeout * 1000 * 2 / 3))

    def warn(state: RetryCallState) -> None:
        log.warning("creating topics on %s failed (attempt %d of %d, %s); trying again",
                    settings.bootstrap, state.attempt_number, attempts,
                    _problem(state, timeout))  # fmt: skip

    retrying = AsyncRetrying(
        retry=retry_if_exception(_worth_retrying),
        stop=stop_after_attempt(attempts),
        wait=wait_incrementing(start=backoff, increment=backoff),
        before_sleep=warn,
        retry_error_callback=lambda state: _unavailable(settings, attempts, state, timeout),
    )

    async def attempt() -> list[str]:
        return await asyncio.wait_for(
            asyncio.to_thread(ensure_topics, settings, extra, timeout_ms), timeout
        )

    created: list[str] = await retrying(attempt)
    return created


def _worth_retrying(exc: BaseException) -> bool:
    """No answer in time, or an error kafka-python marks retriable (unreachable, moving)."""
    return isinstance(exc, TimeoutError) or (isinstance(exc, KafkaError) and exc.retriable)


def _problem(state: RetryCallState, timeout: float) -> str:
    exc = state.outcome.exception() if state.outcome is not None else None
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:.0f} s"
    return f"{type(exc).__name__}: {exc}"


def _unavailable(
    settings: KafkaSettings, attempts: int, state: RetryCallState, timeout: float
) -> NoReturn:
    last = state.outcome.exception() if state.outcome is not None else None
    raise BrokerUnavailable(
        f"could not create topics on {settings.bootstrap} in {attempts} attempts "
        f"({_problem(state, timeout)})"
    ) from last
