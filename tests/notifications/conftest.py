"""Real parts for delivery tests: an SMTP server (aiosmtpd), Redis, and Celery worker processes."""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from kombu import pools as kombu_pools

from config.celery import app as celery_app
from notifications.services import escalation_policy_update
from tests.conftest import REQUIRE_SERVICES

BASE_DIR = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, *, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}.")


@dataclass
class Received:
    recipients: list[str]
    message: EmailMessage
    # The client's address and port: one per connection.
    peer: tuple = ()

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]


@dataclass
class SmtpServer:
    """An SMTP server that keeps what it accepts, or refuses mail while ``refuse`` is set, and
    refuses the addresses in ``refuse_recipients`` with the reply given for each.
    ``before_accepting``, when set, runs between receiving a message and answering that it is
    accepted; the client waits for it."""

    host: str = "127.0.0.1"
    port: int = 0
    refuse: str = ""
    refuse_recipients: dict[str, str] = field(default_factory=dict)
    before_accepting: Callable[[], None] | None = None
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0)
        if self.refuse:
            return self.refuse
        with self.lock:
            self.received.append(
                Received(
                    list(envelope.rcpt_tos),
                    message_from_bytes(envelope.content),
                    tuple(session.peer),
                )
            )
        if self.before_accepting is not None:
            self.before_accepting()
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def connections(self) -> int:
        """How many connections the messages received came over."""
        with self.lock:
            return len({item.peer for item in self.received})

    def to(self) -> list[str]:
        with self.lock:
            return sorted(r for item in self.received for r in item.recipients)


@pytest.fixture
def smtp_server(settings):
    server = SmtpServer(port=free_port())
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    try:
        yield server
    finally:
        controller.stop()


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _need(what: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"This test needs {what} and REQUIRE_SERVICES=1.")
    pytest.skip(f"needs {what}")


@pytest.fixture
def redis_broker(postgres):
    """A Redis database of its own for this test's broker, empty at the start.

    Each pytest-xdist process gets its own database number, counted on from the one REDIS_URL
    names, so one process's worker never takes another's tasks, and two checkouts given REDIS_URL
    databases far enough apart never share one.
    """
    base = os.environ.get("REDIS_URL", "")
    if not base or not _redis_answers(base):
        _need("Redis (REDIS_URL)")
    parts = urlsplit(base)
    named = parts.path.strip("/") or "0"
    worker_id = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker_id.removeprefix("gw") or 0)
    number = (int(named) + 1 + index) % 16
    url = urlunsplit(parts._replace(path=f"/{number}"))
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()


@contextmanager
def celery_publishing_to(url: str):
    """Make this test process publish tasks to ``url`` instead of running them eagerly."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport_options, conf.task_always_eager)

    def reset_pools():
        # kombu keeps connection pools in a registry keyed by broker: clear it, not just ours.
        kombu_pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.broker_url, conf.broker_transport_options, conf.task_always_eager = url, {}, False
    reset_pools()
    try:
        yield
    finally:
        conf.broker_url, conf.broker_transport_options, conf.task_always_eager = saved
        reset_pools()


def database_url() -> str:
    """The test database as the tests reach it: as the application's role, under row-level
    security, like the service's workers."""
    db = connection.settings_dict
    user = quote(db["USER"], safe="")
    if db.get("PASSWORD"):
        user += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """A real Celery worker process on the test database."""

    def __init__(self, broker_url: str, smtp: SmtpServer, log_dir: Path, **env):
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": smtp.host,
            "EMAIL_PORT": str(smtp.port),
            **{key: str(value) for key, value in env.items()},
        }
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 60) -> None:
        self.starts += 1
        log_path = self.log_dir / f"worker-{self.starts}.log"
        log = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        def ready():
            if self.process.poll() is not None:
                raise AssertionError("The worker exited:\n" + log_path.read_text()[-3000:])
            return b" ready." in log_path.read_bytes()

        wait_until(ready, timeout=timeout, what="the Celery worker to start")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acknowledgement, nothing flushed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.log_dir.glob("worker-*.log")))


@pytest.fixture
def start_worker(tmp_path):
    workers: list[Worker] = []

    def start(broker_url: str, smtp: SmtpServer, **env) -> Worker:
        worker = Worker(broker_url, smtp, tmp_path, **env)
        workers.append(worker)
        worker.start()
        return worker

    yield start
    for worker in workers:
        worker.stop()


class PrivateRedis:
    """A redis-server of the test's own, so it can be stopped without touching anyone else's."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _redis_answers(self.url), timeout=10, what="redis-server to start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(postgres, tmp_path):
    if shutil.which("redis-server") is None:
        _need("the redis-server program")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


class FakeNotify(BaseHTTPRequestHandler):
    """Stands in for GOV.UK Notify's API, which cannot be reached from here."""

    requests: list = []
    status = 201

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "auth": self.headers["Authorization"], **body}
        )
        answer = (
            {"id": "9f1c1b1e-0000-4000-8000-000000000001", "reference": body.get("reference")}
            if self.status == 201
            else {
                "status_code": self.status,
                "errors": [
                    {
                        "error": "BadRequestError",
                        "message": "Can't send to this recipient using a team-only API key",
                    }
                ],
            }
        )
        payload = json.dumps(answer).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_notify(settings):
    FakeNotify.requests, FakeNotify.status = [], 201
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeNotify)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.NOTIFY_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    yield FakeNotify
    server.shutdown()


NOTIFY_KEY = "test_key-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0"


@pytest.fixture
def on_notify(story):
    """Central Bedfordshire sends through its own GOV.UK Notify service."""
    return escalation_policy_update(
        tenant=story.tenant,
        by=story.erin,
        channel="notify",
        notify_api_key=NOTIFY_KEY,
        notify_template_id="f33517ff-2a88-4f6e-b855-c550268ce08a",
    )
