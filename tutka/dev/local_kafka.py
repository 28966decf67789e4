"""A real, local, single-node Apache Kafka broker (KRaft) for development and integration tests.

The faust worker and its integration tests need a real broker, not a mock. This module runs one
from the official jars, bound to 127.0.0.1 only, with no ZooKeeper, no Docker and no download
other than the jars themselves:

1. The jars of Kafka ``KAFKA_VERSION`` are fetched once with Maven (``scripts/kafka/pom.xml``)
   into a cache directory (default ``.cache/kafka/<version>/libs`` under the repository) and
   reused afterwards. Java and Maven must be installed and Maven Central reachable; if not, the
   error says so. There is deliberately no other source.
2. The first start of a *home* directory formats its KRaft storage; later starts reuse the data.
3. The broker runs in the background (its own session, so it outlives the command that started
   it); ``kafka.pid`` and ``kafka.log`` (WARN and above) live in the home directory.
4. ``start`` returns only when a Kafka client gets a metadata answer naming the broker, and
   fails with the last lines of the broker log otherwise.

Typical use::

    kafka = LocalKafka(Path(".kafka"), port=0, controller_port=0)  # 0: any free port
    bootstrap = kafka.start()   # "127.0.0.1:40123"; again while running: the same address
    ...
    kafka.stop()                # SIGTERM, then SIGKILL after the timeout
    kafka.clean()               # stop and delete the data

or ``tutka dev kafka start|stop|status|clean`` from a shell (:mod:`tutka.dev.cli`). A home that
was never started is simply not running:

>>> LocalKafka(Path("/nonexistent/tutka-kafka"), port=0).status()["running"]
False
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypedDict

KAFKA_VERSION = "3.9.1"
"""The broker version; must match ``kafka.version`` in ``scripts/kafka/pom.xml``."""

HOST = "127.0.0.1"
"""Every listener binds here: a developer broker is never reachable from the network."""

CACHE_ENV = "TUTKA_DEVKAFKA_CACHE"
"""Environment variable the CLI and the test fixture read to override the jar cache directory.

Not a ``Settings`` field: it only concerns developer tooling, and it deliberately avoids the
``TUTKA_KAFKA__`` prefix, which the frozen ``KafkaSettings`` would reject as an unknown field.
"""

REPO_ROOT = Path(__file__).resolve().parents[2]
POM = REPO_ROOT / "scripts" / "kafka" / "pom.xml"

PID_FILE = "kafka.pid"
LOG_FILE = "kafka.log"
PROPERTIES_FILE = "server.properties"
LOG4J_FILE = "log4j.properties"
DATA_DIR = "data"

# The jar whose presence marks a complete cache: the directory is renamed into place only after
# Maven succeeded, so a half-finished download never looks like a cache.
_MARKER_JAR = f"kafka_2.13-{KAFKA_VERSION}.jar"
_START_MARK = "=== tutka devkafka: starting"
# Maven's words for "could not reach the repository" (the exact text varies with the transport).
_NETWORK_FAILURE = re.compile(
    r"Could not transfer|transfer failed|Connect to .* failed|Connection refused|"
    r"Unknown host|UnknownHost|Network is unreachable|No route to host|timed out|"
    r"Temporary failure in name resolution|offline mode",
    re.IGNORECASE,
)


class KafkaError(RuntimeError):
    """The local broker could not be set up, started, reached or stopped."""


class KafkaSetupError(KafkaError):
    """A prerequisite is missing: java, mvn, Maven Central, a writable cache or home."""


class KafkaStartError(KafkaError):
    """The broker process did not come up, or did not answer, in time."""


class KafkaStatus(TypedDict):
    """What ``LocalKafka.status`` reports (JSON-safe)."""

    running: bool
    pid: int | None
    bootstrap: str | None
    port: int | None
    controller_port: int | None
    home: str
    log: str
    formatted: bool
    version: str


# -- paths and ports ------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """Where the jars go unless told otherwise: ``.cache/kafka/<version>/libs`` in the repository.

    Outside a source checkout (an installed wheel) the repository has no ``pyproject.toml``, and
    the user's cache directory is used instead, so nothing is written into site-packages.
    """
    base = REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else _user_cache()
    return base / ".cache" / "kafka" / KAFKA_VERSION / "libs"


def default_home() -> Path:
    """The developer broker's home for ``tutka dev kafka``: ``.kafka`` in the repository."""
    base = REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else _user_cache()
    return base / ".kafka"


def _user_cache() -> Path:
    return Path.home() / ".cache" / "muutostutka"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice)."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports on 127.0.0.1.

    The sockets are held open together so the kernel cannot hand out the same port twice. A port
    can still be taken between this call and the broker's bind; ``LocalKafka.start`` retries
    with new ports when it chose them itself.
    """
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((HOST, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def is_listening(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``.

    A connect test rather than a bind test: after a broker stops, its old connections linger in
    TIME_WAIT, which blocks a plain ``bind`` but not a new server (Kafka sets SO_REUSEADDR).
    """
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# -- jars -----------------------------------------------------------------------------------------


def find_executable(name: str, what: str) -> str:
    """The full path of ``name`` (a command on PATH or a path), or a ``KafkaSetupError``."""
    found = shutil.which(name)
    if found is None:
        raise KafkaSetupError(
            f"{what} not found: {name!r} is not an executable file or a command on PATH. "
            "The local Kafka broker needs Java 17+ and Maven 3.6+ "
            "(Debian: apt-get install openjdk-17-jre-headless maven)."
        )
    return found


def fetch_jars(
    cache_dir: Path | None = None,
    *,
    mvn: str = "mvn",
    maven_args: Sequence[str] = (),
    pom: Path = POM,
    timeout: float = 900.0,
) -> Path:
    """Make sure the Kafka jars are in ``cache_dir`` (fetching them with Maven once); return it.

    Args:
        cache_dir: the directory that holds the jars (``libs``); default ``default_cache_dir()``.
        mvn: the Maven executable (a command on PATH or a path).
        maven_args: extra Maven arguments, e.g. ``("-s", "settings.xml")`` for a mirror.
        pom: the pom whose dependencies are the broker's classpath.
        timeout: seconds Maven may take (a cold download is ~50 MB).

    Raises:
        KafkaSetupError: mvn missing, the cache not writable, or Maven Central not reachable.
    """
    libs = cache_dir if cache_dir is not None else default_cache_dir()
    if (libs / _MARKER_JAR).is_file():
        return libs
    if not pom.is_file():
        raise KafkaSetupError(f"the Kafka pom {pom} is missing; it ships in the repository")
    try:
        libs.parent.mkdir(parents=True, exist_ok=True)
        # A private directory first, renamed into place when complete: two processes fetching
        # at once (two terminals, pytest and the CLI) never see each other's half-copied jars.
        partial = Path(tempfile.mkdtemp(prefix=f"{libs.name}.partial-", dir=libs.parent))
    except OSError as exc:
        raise KafkaSetupError(
            f"cannot write the Kafka jar cache {libs}: {_why_unwritable(libs, exc)}. "
            f"Point --cache-dir or {CACHE_ENV} at a writable directory."
        ) from exc
    try:
        mvn_path = find_executable(mvn, "Maven (mvn)")
        command = [
            mvn_path,
            "-q",
            "-B",
            "-Dstyle.color=never",
            *maven_args,
            "-f",
            str(pom),
            # Fully qualified so that Maven needs no plugin-prefix lookup; the version is pinned
            # in the pom.
            "org.apache.maven.plugins:maven-dependency-plugin:copy-dependencies",
            f"-DoutputDirectory={partial}",
        ]
        try:
            done = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise KafkaSetupError(
                f"Maven did not finish fetching the Kafka {KAFKA_VERSION} jars in {timeout:.0f} s; "
                "is Maven Central reachable from this machine?"
            ) from exc
        output = (done.stdout + done.stderr).strip()
        if done.returncode != 0:
            tail = _tail_lines(output.splitlines(), 15)
            if _NETWORK_FAILURE.search(output):
                raise KafkaSetupError(
                    f"Maven could not download the Kafka {KAFKA_VERSION} jars: Maven Central "
                    "is not reachable from this machine (network, proxy or a mirror in "
                    "~/.m2/settings.xml). There is no other source for them; fix access to "
                    f"Maven Central and retry.\n--- mvn output (last lines) ---\n{tail}"
                )
            raise KafkaSetupError(
                f"mvn failed (exit {done.returncode}) fetching the Kafka {KAFKA_VERSION} jars "
                f"with {pom}.\n--- mvn output (last lines) ---\n{tail}"
            )
        if not (partial / _MARKER_JAR).is_file():
            raise KafkaSetupError(f"Maven succeeded but {_MARKER_JAR} is not in its output")
        try:
            partial.rename(libs)
        except OSError:
            # Someone else completed the cache first; theirs is as good as ours.
            if not (libs / _MARKER_JAR).is_file():
                raise
        return libs
    finally:
        shutil.rmtree(partial, ignore_errors=True)


# -- probing a broker -----------------------------------------------------------------------------


def probe(bootstrap: str, timeout: float = 10.0) -> dict[str, Any]:
    """Ask ``bootstrap`` for its cluster metadata with kafka-python; return what it says.

    The answer is a dict with ``brokers`` (``broker_id``, ``host``, ``port``), ``controller_id``
    and ``cluster_id``. A KRaft broker lists itself only once it has caught up with the metadata
    log and been unfenced, so a broker listed here accepts topics, produce and fetch.

    Raises:
        KafkaStartError: no answer within ``timeout`` seconds, or an answer without brokers.
    """
    # Imported here: kafka-python is heavy, and the CLI's other commands never need it.
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError as ClientError

    timeout_ms = max(1000, int(timeout * 1000))
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="tutka-devkafka-probe",
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
        )
    except (ClientError, OSError) as exc:
        raise KafkaStartError(f"no Kafka broker answers at {bootstrap}: {exc!r}") from exc
    try:
        cluster: dict[str, Any] = dict(admin.describe_cluster())
    except (ClientError, OSError) as exc:
        raise KafkaStartError(
            f"the broker at {bootstrap} did not describe its cluster: {exc!r}"
        ) from exc
    finally:
        admin.close()
    if not cluster.get("brokers"):
        raise KafkaStartError(f"the broker at {bootstrap} lists no live brokers yet")
    return cluster


# -- the broker -----------------------------------------------------------------------------------

# Brokers this process launched, by pid, so that any LocalKafka object of the same home can wait
# for (reap) one it stops instead of leaving a zombie that still looks alive to os.kill(pid, 0).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class LocalKafka:
    """One local single-node KRaft broker (combined broker and controller) living in ``home``.

    Args:
        home: directory for the data, ``server.properties``, ``kafka.pid`` and ``kafka.log``.
        port: the client (PLAINTEXT) port on 127.0.0.1; 0 picks a free one at start.
        controller_port: the KRaft controller port on 127.0.0.1; 0 picks a free one at start.
        cache_dir: where the jars are cached; default ``default_cache_dir()``.
        java: the Java executable (a command on PATH or a path).
        mvn: the Maven executable used for the one-time jar download.
        maven_args: extra Maven arguments for that download.
        heap_mb: maximum Java heap of the broker.
        stop_with_parent: on Linux, have the kernel SIGTERM the broker when the process that
            started it dies, even by SIGKILL; for test sessions, which must leave no broker
            behind. Off for the CLI, whose broker is meant to outlive the command.

    Raises:
        ValueError: a port out of range, or both ports equal and non-zero.
    """

    def __init__(
        self,
        home: Path,
        port: int = 9092,
        controller_port: int = 9093,
        *,
        cache_dir: Path | None = None,
        java: str = "java",
        mvn: str = "mvn",
        maven_args: Sequence[str] = (),
        heap_mb: int = 512,
        stop_with_parent: bool = False,
    ) -> None:
        for name, value in (("port", port), ("controller_port", controller_port)):
            if not 0 <= value <= 65535:
                raise ValueError(f"{name} must be 0 (any free port) or 1..65535, got {value}")
        if port != 0 and port == controller_port:
            raise ValueError(f"port and controller_port must differ, both are {port}")
        if heap_mb < 128:
            raise ValueError(f"heap_mb must be at least 128, got {heap_mb}")
        # Canonical: the pid check compares this path with the broker's command line.
        self.home = Path(home).resolve()
        self.port = port
        self.controller_port = controller_port
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self.java = java
        self.mvn = mvn
        self.maven_args = tuple(maven_args)
        self.heap_mb = heap_mb
        self.stop_with_parent = stop_with_parent

    def __repr__(self) -> str:
        return f"LocalKafka(home={str(self.home)!r}, port={self.port}, pid={self._live_pid()})"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- files ------------------------------------------------------------------------------------

    @property
    def pid_file(self) -> Path:
        return self.home / PID_FILE

    @property
    def log_file(self) -> Path:
        return self.home / LOG_FILE

    @property
    def properties_file(self) -> Path:
        return self.home / PROPERTIES_FILE

    @property
    def data_dir(self) -> Path:
        return self.home / DATA_DIR

    @property
    def formatted(self) -> bool:
        """Whether the KRaft storage has been formatted (the data survives restarts)."""
        return (self.data_dir / "meta.properties").is_file()

    @property
    def bootstrap(self) -> str | None:
        """``127.0.0.1:<port>`` of the configured broker, or None before its first start."""
        ports = self._configured_ports()
        return f"{HOST}:{ports[0]}" if ports else None

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> str:
        """Start the broker if it is not running, wait until it answers, return its address.

        Idempotent: on a running broker of this home it only waits until that one answers. A pid
        file left by a broker that died is removed. The first start of a home fetches the jars
        (if the cache is empty) and formats the storage; neither counts against ``timeout``.

        Args:
            timeout: seconds to wait for the broker to answer clients.

        Returns:
            The bootstrap address, ``127.0.0.1:<port>``.

        Raises:
            KafkaSetupError: java or mvn missing, Maven Central unreachable, files unwritable.
            KafkaStartError: the port is taken, or the broker died or did not answer in time
                (the message ends with the last lines of ``kafka.log``). The process is killed.
        """
        pid = self._live_pid()
        if pid is not None:
            address = self.bootstrap
            if address is None:  # someone deleted server.properties under a running broker
                raise KafkaStartError(
                    f"a broker runs from {self.home} (pid {pid}) but {self.properties_file} is "
                    "gone, so its port is unknown; stop it (kill the pid) and start again"
                )
            running_port = int(address.rsplit(":", 1)[1])
            if self.port not in (0, running_port):
                raise KafkaStartError(
                    f"the broker of {self.home} already runs at {address} (pid {pid}), "
                    f"not on port {self.port}; stop it first"
                )
            self.wait_ready(timeout)
            return address
        self._remove_pid_file()

        java = find_executable(self.java, "Java (java)")
        libs = fetch_jars(self.cache_dir, mvn=self.mvn, maven_args=self.maven_args)
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise KafkaSetupError(f"cannot create the broker home {self.home}: {exc}") from exc

        # Ports we picked ourselves may be grabbed by someone else before the JVM binds them;
        # then we try again with new ones. Ports the caller chose are the caller's problem.
        attempts = 3 if 0 in (self.port, self.controller_port) else 1
        for attempt in range(1, attempts + 1):
            port, controller_port = self._choose_ports()
            self._write_config(port, controller_port)
            if not self.formatted:
                self._format(java, libs)
            self._launch(java, libs)
            try:
                self.wait_ready(timeout)
            except KafkaStartError:
                # Never leave a half-started broker behind; the error already holds the log.
                self.stop(timeout=10)
                if attempt < attempts and "Address already in use" in self.log_tail(200):
                    continue
                raise
            return f"{HOST}:{port}"
        raise AssertionError("unreachable")  # the loop returns or raises

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the broker of this home answers a metadata request, or fail.

        Raises:
            KafkaStartError: the process is gone, or ``timeout`` seconds passed without an
                answer; with the last lines of the broker log.
        """
        deadline = time.monotonic() + timeout
        address = self.bootstrap
        last = "it never accepted a connection"
        while True:
            pid = self._live_pid()
            if pid is None or address is None:
                raise KafkaStartError(
                    f"the Kafka broker of {self.home} is not running (it exited or was never "
                    f"started)\n--- last lines of {self.log_file} ---\n{self.log_tail()}"
                )
            port = int(address.rsplit(":", 1)[1])
            remaining = deadline - time.monotonic()
            # A cheap connect first: kafka-python is slower to fail and logs every refusal.
            if is_listening(port):
                try:
                    probe(address, timeout=max(1.0, min(10.0, remaining)))
                    return
                except KafkaStartError as exc:
                    last = str(exc)
            if time.monotonic() >= deadline:
                raise KafkaStartError(
                    f"the Kafka broker at {address} (pid {pid}) did not answer within "
                    f"{timeout:.0f} s: {last}\n--- last lines of {self.log_file} ---\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.25)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the broker: SIGTERM (a clean shutdown), then SIGKILL after ``timeout`` seconds.

        Returns:
            True if a broker was running and has stopped, False if none was running.

        Raises:
            KafkaError: the process survived SIGKILL (it should not).
        """
        pid = self._live_pid()
        if pid is None:
            self._remove_pid_file()
            return False
        self._signal(pid, signal.SIGTERM)
        if not self._wait_gone(pid, timeout):
            self._append_log(f"=== tutka devkafka: no exit {timeout:.0f} s after SIGTERM; SIGKILL")
            self._signal(pid, signal.SIGKILL)
            if not self._wait_gone(pid, 10.0):
                raise KafkaError(f"the Kafka broker (pid {pid}) survived SIGKILL")
        self._remove_pid_file()
        return True

    def clean(self) -> None:
        """Stop the broker and delete its data, configuration, pid and log files.

        Only the files this class creates are removed, and then ``home`` if it is left empty;
        anything else a developer put there survives.
        """
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        for name in (PROPERTIES_FILE, LOG4J_FILE, PID_FILE, LOG_FILE):
            (self.home / name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty, or already gone: both are fine
            self.home.rmdir()

    def is_running(self) -> bool:
        """Whether the broker process of this home is alive (it may still be starting)."""
        return self._live_pid() is not None

    def status(self) -> KafkaStatus:
        """Where the broker of this home stands; JSON-safe."""
        pid = self._live_pid()
        ports = self._configured_ports()
        return KafkaStatus(
            running=pid is not None,
            pid=pid,
            bootstrap=f"{HOST}:{ports[0]}" if ports and pid is not None else None,
            port=ports[0] if ports else None,
            controller_port=ports[1] if ports else None,
            home=str(self.home),
            log=str(self.log_file),
            formatted=self.formatted,
            version=KAFKA_VERSION,
        )

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines the broker logged since its latest start."""
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log yet)"
        start = text.rfind(_START_MARK)
        recent = text[start:] if start >= 0 else text
        return _tail_lines(recent.splitlines(), lines) or "(the log is empty)"

    # -- internals --------------------------------------------------------------------------------

    def _choose_ports(self) -> tuple[int, int]:
        picked = iter(free_ports(2))
        port = self.port or next(picked)
        controller_port = self.controller_port or next(picked)
        if port == controller_port:  # a fixed port that the kernel also handed out
            controller_port = next(picked)
        for what, value in (("client", port), ("controller", controller_port)):
            if is_listening(value):
                raise KafkaStartError(
                    f"{HOST}:{value} ({what} port) is already in use, perhaps by another broker; "
                    "choose another port, or 0 for a free one"
                )
        return port, controller_port

    def _write_config(self, port: int, controller_port: int) -> None:
        properties = {
            # KRaft, combined: one process is both the broker and the only controller voter.
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{HOST}:{controller_port}",
            "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            # One node: internal topics cannot have more replicas than that.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            # Fewer internal partitions: the first consumer group or transaction then waits for
            # one partition to be created instead of fifty.
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.num.partitions": "1",
            # Tests join groups constantly; the default 3 s delay would slow every one.
            "group.initial.rebalance.delay.ms": "0",
            "num.partitions": "1",
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
        }
        text = "".join(f"{key}={value}\n" for key, value in properties.items())
        self.properties_file.write_text(
            "# Written by tutka.dev.local_kafka on every start; edits are overwritten.\n" + text,
            encoding="utf-8",
        )
        # Console appender into kafka.log (the process's stdout): JVM errors and the broker's own
        # WARN/ERROR lines then land in one file, in order. INFO is kept for the two loggers that
        # say when the server started and stopped, which helps to read a failed start.
        (self.home / LOG4J_FILE).write_text(
            "log4j.rootLogger=WARN, stdout\n"
            "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
            "log4j.logger.kafka.server.KafkaRaftServer=INFO\n"
            "log4j.logger.kafka.Kafka$=INFO\n",
            encoding="utf-8",
        )

    def _format(self, java: str, libs: Path) -> None:
        cluster_id = _cluster_id()
        command = [
            java,
            *self._jvm_options(libs),
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            cluster_id,
            "--config",
            str(self.properties_file),
            "--ignore-formatted",
        ]
        done = subprocess.run(
            command,
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0 or not self.formatted:
            output = _tail_lines((done.stdout + done.stderr).splitlines(), 20)
            raise KafkaStartError(
                f"formatting the KRaft storage in {self.data_dir} failed "
                f"(exit {done.returncode}):\n{output}"
            )

    def _jvm_options(self, libs: Path) -> list[str]:
        return [
            f"-Xmx{self.heap_mb}m",
            # Two cores and a small heap: the serial collector starts faster and costs less.
            "-XX:+UseSerialGC",
            "-XX:-UsePerfData",  # no hsperfdata files in /tmp
            "-Djava.awt.headless=true",
            "-Djava.net.preferIPv4Stack=true",
            f"-Dlog4j.configuration=file:{self.home / LOG4J_FILE}",
            "-cp",
            str(libs / "*"),  # expanded by java itself, not by a shell
        ]

    def _launch(self, java: str, libs: Path) -> None:
        command = [java, *self._jvm_options(libs), "kafka.Kafka", str(self.properties_file)]
        self._append_log(
            f"{_START_MARK} Kafka {KAFKA_VERSION} at {time.strftime('%Y-%m-%d %H:%M:%S')}: "
            + " ".join(command)
        )
        with self.log_file.open("ab") as log:
            # A new session: Ctrl-C in the terminal that ran `tutka dev kafka start` must not reach
            # the broker, and the broker must outlive that command.
            process = subprocess.Popen(
                command,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_parent_death_signal(os.getpid()) if self.stop_with_parent else None,
            )
        _CHILDREN[process.pid] = process
        self.pid_file.write_text(f"{process.pid}\n", encoding="utf-8")

    def _configured_ports(self) -> tuple[int, int] | None:
        try:
            text = self.properties_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        listeners = re.search(r"^listeners=(.*)$", text, re.MULTILINE)
        if listeners is None:
            return None
        ports = dict(re.findall(r"(\w+)://[^:,]+:(\d+)", listeners.group(1)))
        if "PLAINTEXT" not in ports or "CONTROLLER" not in ports:
            return None
        return int(ports["PLAINTEXT"]), int(ports["CONTROLLER"])

    def _live_pid(self) -> int | None:
        """The pid in the pid file if that process is alive and is this home's broker."""
        try:
            pid = int(self.pid_file.read_text(encoding="utf-8").strip())
        except (FileNotFoundError, ValueError):
            return None
        child = _CHILDREN.get(pid)
        if child is not None:
            # Our own child: poll() is exact, and right after the fork /proc still shows
            # Python's command line rather than java's.
            if child.poll() is None:
                return pid
            del _CHILDREN[pid]
            return None
        return pid if _is_broker(pid, self.properties_file) else None

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        child = _CHILDREN.get(pid)
        if child is not None:
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            del _CHILDREN[pid]
            return True
        deadline = time.monotonic() + timeout
        while _is_broker(pid, self.properties_file):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    @staticmethod
    def _signal(pid: int, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):  # it exited in the meantime
            os.kill(pid, signum)

    def _remove_pid_file(self) -> None:
        self.pid_file.unlink(missing_ok=True)

    def _append_log(self, line: str) -> None:
        with contextlib.suppress(FileNotFoundError), self.log_file.open("a") as log:
            log.write(line + "\n")


def _is_broker(pid: int, properties: Path) -> bool:
    """Whether ``pid`` is a live ``kafka.Kafka`` process started with ``properties``.

    Checks the command line, not just the pid: after a reboot or a crash the pid in a stale pid
    file may belong to an unrelated process, which must never be signalled.
    """
    proc = Path("/proc") / str(pid)
    if Path("/proc/self").exists():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False
        # A zombie has exited; it only waits for its parent to collect its exit status.
        return (
            state not in ("Z", "X") and b"kafka.Kafka" in argv and os.fsencode(properties) in argv
        )
    # Without /proc (macOS) the command line is not cheaply readable; trust a live pid.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process: not a broker we started
    return True


def _parent_death_signal(parent: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its parent dies (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None

    def arm() -> None:  # runs in the child, between fork and exec
        pr_set_pdeathsig = 1  # <linux/prctl.h>
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def _cluster_id() -> str:
    """A random KRaft cluster id in Kafka's form: 16 bytes, URL-safe base64 without padding.

    Generated here instead of by ``StorageTool random-uuid`` to save a JVM start. Kafka itself
    never hands out an id beginning with "-" (it would read as a command-line option).
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):
            return text


def _why_unwritable(path: Path, exc: OSError) -> str:
    # mkdir below a regular file reports "File exists", which sends people looking in vain.
    for ancestor in path.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                return f"{ancestor} is a file, not a directory"
            break
    return exc.strerror or str(exc)


def _tail_lines(lines: Sequence[str], count: int) -> str:
    return "\n".join(lines[-count:])
