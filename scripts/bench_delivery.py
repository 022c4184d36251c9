"""Outbox delivery through a real worker, against a no-op task on the same broker and worker.

    make bench-delivery
    make bench-delivery ARGS="--messages 500 --rounds 2 --summary var/bench.jsonl"
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/safeguarding_bench_delivery \
        REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python scripts/bench_delivery.py

Creates a fresh PostgreSQL database as DATABASE_URL's role, the owner (its name must contain
"bench"; it is dropped at the end), migrates it, writes one tenant with fifty people and creates
the application's role, which owns nothing: from then on this process and the worker connect as
that role, under row-level security, as the service does. An SMTP server in this process
counts what it receives. One Celery worker starts with the service's own settings (prefork pool,
one child, the queues the settings declare) and the SMTP e-mail backend pointed at that server.

Each round writes --messages pending event e-mails, queues them with ``outbox_queue`` and times
until the server has every one and every row is sent; and queues as many no-op tasks
(``scripts/bench_tasks.py``: one Redis INCR each) and times until all have run. The two take
turns, first one then the other, so both meet the same noise from the rest of the machine; the
ratio of their median rates is the figure: messages delivered per no-op task run.

The Redis database in REDIS_URL (not 0) is flushed at the end. ``--summary FILE`` appends the
result to FILE as one JSON line, for ``make bench``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import functools
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The reports benchmark's throwaway database, made the same way (scripts/ is on the path).
from bench_reports import database_recreate  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/safeguarding_bench_delivery"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
PEOPLE = 50
GOAL = 0.5


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages (and tasks) a round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each, taken in turn")
    parser.add_argument("--timeout", type=int, default=600, help="seconds to wait for a round")
    parser.add_argument("--summary", type=Path, help="append the result to this file as JSON")
    args = parser.parse_args()
    if args.messages < 1 or args.rounds < 1:
        parser.error("need at least 1 message and 1 round")
    return args


def configure_environment() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.pop("DATABASE_OWNER_URL", None)
    # Production settings: DEBUG off needs a strong secret, explicit hosts and a key for the
    # secrets they store; the worker inherits all three.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    os.environ.setdefault("ENCRYPTION_KEYS", base64.urlsafe_b64encode(os.urandom(32)).decode())
    # Tasks go to the broker, never run in this process.
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    database = urlsplit(os.environ["DATABASE_URL"])
    if database.scheme not in {"postgres", "postgresql"} or "bench" not in database.path:
        sys.exit("DATABASE_URL must be PostgreSQL and name a database containing 'bench'.")
    broker = urlsplit(os.environ["REDIS_URL"])
    if broker.scheme not in {"redis", "rediss"} or broker.path.strip("/") in {"", "0"}:
        sys.exit("REDIS_URL must name a Redis database other than 0 (it is flushed at the end).")


def say(text: str = "") -> None:
    print(text, flush=True)


def load() -> str:
    """The machine's load: other processes competing for the CPUs skew every figure."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


# --- The parts ----------------------------------------------------------------------------------


class CountingHandler:
    """An aiosmtpd handler that accepts everything and counts it."""

    def __init__(self):
        self.messages = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Worker:
    """One Celery worker subprocess with the service's settings: prefork pool, one child."""

    POOL = "prefork, --concurrency=1"

    def __init__(self, *, database_url: str, smtp_port: int, log_path: Path):
        self.nodename = f"bench-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_USE_TLS": "0",
            "EMAIL_USE_SSL": "0",
            "LOG_LEVEL": "WARNING",
        }
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "-n",
            self.nodename,
            "-I",
            "scripts.bench_tasks",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = 90) -> float:
        from config.celery import app

        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            self.check_alive()
            if app.control.ping(destination=[self.nodename], timeout=1.0):
                return time.perf_counter() - started
        raise RuntimeError(f"the worker did not answer a ping in {timeout} s\n{self.log_tail()}")

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(
                f"the worker exited with {self.process.returncode}\n{self.log_tail()}"
            )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # warm shutdown: the child finishes its task
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def people_create() -> tuple[int, list[int]]:
    """One tenant and its people, written by the owner before the application's role exists."""
    from tenants.models import Tenant, User
    from tenants.scoping import across_tenants

    with across_tenants():
        tenant = Tenant.objects.create(
            name="Bench Safeguarding Partnership", slug="bench", kind=Tenant.Kind.values[0]
        )
        people = User.objects.bulk_create(
            User(email=f"officer{n}@bench.example.org", full_name=f"Officer {n}")
            for n in range(PEOPLE)
        )
    return tenant.pk, [person.pk for person in people]


def application_role_switch(stack: contextlib.ExitStack) -> str:
    """Create the application's role and connect this process as it, until ``stack`` closes;
    returns its address for the worker. As scripts/bench_rls.py and the tests do."""
    from django.conf import settings
    from django.db import connection

    from tenants.postgresql.roles import CREDENTIALS, application_role_grant

    db = connection.settings_dict
    owner = {key: db.get(key) for key in CREDENTIALS}
    role = f"{db['NAME']}_app"
    password = secrets.token_urlsafe()
    application_role_grant(role=role, password=password)
    connection.close()
    settings.DATABASE_OWNER = owner
    db.update(USER=role, PASSWORD=password)
    # The owner again for dropping the database.
    stack.callback(db.update, owner)
    stack.callback(connection.close)
    return (
        f"postgres://{quote(role, safe='')}:{quote(password, safe='')}@"
        f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


def messages_create(tenant_id: int, people: list[int], count: int, run: str) -> list[int]:
    """``count`` pending event e-mails, as the service writes them, in bulk."""
    from django.utils import timezone

    from notifications.channels import EMAIL
    from notifications.content import Item, event_email
    from notifications.models import Message
    from tenants.scoping import tenant_scope

    due = timezone.now() - datetime.timedelta(seconds=1)
    messages = []
    for n in range(count):
        title = f"Made lead officer: {n % 9 + 1}.{n} Audit child protection plans"
        link = f"/t/bench/actions/{n + 1}/"
        subject, text, html = event_email(
            Item("Bench Safeguarding Partnership", "made_lead", title, "you lead it", link)
        )
        messages.append(
            Message(
                recipient_id=people[n % len(people)],
                tenant_id=tenant_id,
                kind=Message.Kind.EVENT,
                channel=EMAIL.name,
                subject=subject[:250],
                body_text=text,
                body_html=html,
                key=f"bench:{run}:{n}",
                next_attempt_at=due,
            )
        )
    with tenant_scope(tenant_id):
        Message.objects.bulk_create(messages, batch_size=1000)
    return [m.pk for m in messages]


# --- Measuring ----------------------------------------------------------------------------------


@dataclass
class Throughput:
    count: int
    done: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def wait_for(done, *, expected: int, worker: Worker, timeout: float, started: float) -> int:
    """Poll ``done()`` until it reaches ``expected``; returns the last count."""
    count = done()
    while count < expected:
        worker.check_alive()
        if time.perf_counter() - started > timeout:
            say(f"  gave up after {timeout} s with {count} of {expected} done")
            break
        time.sleep(0.02)
        count = done()
    return count


def delivery_measure(
    ids: list[int], tenant_id: int, handler: CountingHandler, worker: Worker, timeout: float
) -> Throughput:
    from notifications.models import Message
    from notifications.services import outbox_queue
    from tenants.scoping import tenant_scope

    low, high = min(ids), max(ids)
    mail_before = handler.messages

    def done() -> int:
        # Cheap check first; the rows are read only once the server has had every message.
        if handler.messages - mail_before < len(ids):
            return min(handler.messages - mail_before, len(ids) - 1)
        with tenant_scope(tenant_id):
            return Message.objects.filter(pk__range=(low, high), status="sent").count()

    started = time.perf_counter()
    queued = outbox_queue(ids)
    if queued != len(ids):
        raise RuntimeError(f"only {queued} of {len(ids)} messages reached the broker")
    count = wait_for(done, expected=len(ids), worker=worker, timeout=timeout, started=started)
    return Throughput(len(ids), count, time.perf_counter() - started)


def noop_measure(count: int, run: str, worker: Worker, timeout: float) -> Throughput:
    import redis
    from django.conf import settings

    from scripts.bench_tasks import noop

    client = redis.Redis.from_url(settings.REDIS_URL)
    key = f"bench:noop:{run}"
    started = time.perf_counter()
    for _ in range(count):
        noop.delay(key)
    done = wait_for(
        lambda: int(client.get(key) or 0),
        expected=count,
        worker=worker,
        timeout=timeout,
        started=started,
    )
    return Throughput(count, done, time.perf_counter() - started)


def main() -> None:
    args = parse_args()
    configure_environment()

    import django

    django.setup()

    import logging

    import redis
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.core.management import call_command

    say(f"{os.cpu_count()} CPUs; {load()}")
    with contextlib.ExitStack() as stack:
        # Registered first, so they run last: after the worker and SMTP server have stopped.
        stack.callback(lambda: redis.Redis.from_url(settings.REDIS_URL).flushdb())
        stack.callback(database_recreate, drop_only=True)
        database_recreate()
        call_command("migrate", verbosity=0)
        tenant_id, people = people_create()
        worker_database = application_role_switch(stack)

        logging.getLogger("mail.log").setLevel(logging.WARNING)
        handler = CountingHandler()
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        stack.callback(controller.stop)

        log_dir = Path(tempfile.mkdtemp(prefix="bench-worker-"))
        stack.callback(shutil.rmtree, log_dir, ignore_errors=True)  # after the worker stops
        worker = Worker(
            database_url=worker_database, smtp_port=port, log_path=log_dir / "worker.log"
        )
        worker.start()
        stack.callback(worker.stop)
        ready = worker.wait_ready()
        say(
            f"worker {worker.nodename}: pool {Worker.POOL}, connecting as the application's "
            f"role; SMTP server 127.0.0.1:{port} in this process; ready after {ready:.1f} s"
        )
        say()
        say("| round | delivery, messages/s | no-op task, tasks/s | ratio | load (1 min) |")
        say("| --- | --- | --- | --- | --- |")
        deliveries, noops = [], []
        for round_ in range(1, args.rounds + 1):
            run = uuid.uuid4().hex[:10]
            ids = messages_create(tenant_id, people, args.messages, run)
            measures = [
                functools.partial(delivery_measure, ids, tenant_id, handler, worker, args.timeout),
                functools.partial(noop_measure, args.messages, run, worker, args.timeout),
            ]
            if round_ % 2 == 0:
                measures.reverse()
            for measure in measures:
                result = measure()
                (deliveries if measure.func is delivery_measure else noops).append(result)
            delivery, noop = deliveries[-1], noops[-1]
            if delivery.done < delivery.count or noop.done < noop.count:
                sys.exit("a round did not finish; see above")
            say(
                f"| {round_} | {delivery.rate:.1f} | {noop.rate:.1f} | "
                f"{delivery.rate / noop.rate:.2f} | {os.getloadavg()[0]:.2f} |"
            )
        worker.stop()

    delivery_rate = statistics.median(d.rate for d in deliveries)
    noop_rate = statistics.median(n.rate for n in noops)
    ratio = delivery_rate / noop_rate
    say()
    say(
        f"median: delivery {delivery_rate:.1f} messages/s, no-op task {noop_rate:.1f} tasks/s, "
        f"ratio {ratio:.2f} (goal >= {GOAL}); {load()}"
    )
    if args.summary:
        line = {
            "measure": (
                f"delivery of {args.messages:,} messages, one worker, concurrency 1, "
                "into a local SMTP server"
            ),
            "floor": f"a no-op task on the same broker and worker: {noop_rate:.0f} tasks/s",
            "here": f"{delivery_rate:.0f} messages/s",
            "ratio": round(ratio, 3),
            "goal": f">= {GOAL}",
            "met": ratio >= GOAL,
        }
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        with args.summary.open("a") as summary:
            summary.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
