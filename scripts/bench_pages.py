"""The pages under load through gunicorn, each against a bare view on the same server, as ratios.

    make bench-pages
    make bench-pages ARGS="--rounds 3 --every-size --summary var/bench-summary.jsonl"

Builds a throwaway PostgreSQL database (DATABASE_URL names the owner, a role that may create
databases and roles; the database's name must contain 'bench'), migrates it as the owner,
creates the application's role and fills the database, as that role, with the tests' story
(tests/conftest.py): Central Bedfordshire's plan grown to 10, 300 and 2,000 actions in every
open state (tests/plans/factories.py), and Sunderland grown alongside with rows of its own.

Then it starts gunicorn with 2 sync workers and production settings (DEBUG off, Redis for the
cache as in production; plain HTTP, so no HTTPS redirect or secure cookies) as the
application's role, under row-level security, signs people in by creating their sessions, and
puts each page under a load generator with 16 connections: wrk when it is on the PATH, else a
Python one (threads, one request at a time on each connection). Each run of a page (--rounds
of --seconds) comes between runs of the floor (--floor-seconds), a bare view that answers
"ok" behind the same middleware and session cookie, so both meet the same noise; the ratio is
the page's requests per second over the floor's. The floor signed out is measured too, and the
ratio to it printed beside. Query counts come from
the same request through Django's test client in this process.

By default every page is measured at 300 actions and the plan pages also at 10 and 2,000
(--every-size measures every page at every size). ``--summary FILE`` appends one JSON line per
goal of the performance issue to FILE.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/safeguarding_bench_pages"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SIZES = (10, 300, 2000)
GOAL_SIZE = 300
CONNECTIONS = 16
WORKERS = 2
FLOOR = "/bench/floor/"
ANONYMOUS_FLOOR = "/bench/floor/anonymous/"
PLAN_PAGE = "plan page"
HOME_PEOPLE = (
    ("officer", "bob"),
    ("manager", "alice"),
    ("board member", "carol"),
    ("tenant admin", "erin"),
    ("viewer", "victor"),
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=3.0,
        help="length of each run of a page: several times its answer time under load",
    )
    parser.add_argument(
        "--floor-seconds", type=float, default=1.0, help="length of each run of the floor"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="runs of each page, each followed by a floor run"
    )
    parser.add_argument(
        "--every-size", action="store_true", help="every page at every size, not just the plan's"
    )
    parser.add_argument("--summary", type=Path, help="append one JSON line per goal to this file")
    parser.add_argument(
        "--python-load",
        action="store_true",
        help="use the Python load generator even when wrk is installed",
    )
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (default: a free one)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.seconds <= 0 or args.floor_seconds <= 0 or args.rounds < 1:
        parser.error("--seconds and --floor-seconds must be positive, --rounds at least 1")
    return args


def configure_environment() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    database = urlsplit(os.environ["DATABASE_URL"])
    if database.scheme not in {"postgres", "postgresql"} or "bench" not in database.path:
        sys.exit("DATABASE_URL must be PostgreSQL and name a database containing 'bench'.")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_pages_settings"
    os.environ.pop("DATABASE_OWNER_URL", None)
    # Production: DEBUG off needs a strong secret, an encryption key and explicit hosts.
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("ENCRYPTION_KEYS", base64.urlsafe_b64encode(os.urandom(32)).decode())
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    # Plain HTTP on loopback: no redirect to HTTPS, cookies sent without TLS.
    os.environ["SECURE_COOKIES"] = "0"
    os.environ["TRUSTED_PROXY_COUNT"] = "0"
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.setdefault("BENCH_STATIC_ROOT", str(ROOT / "var" / "bench-static"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")


def say(text: str = "") -> None:
    print(text, flush=True)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def redis_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


# --- load generators ---------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    requests: int
    seconds: float
    p50_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def runs_joined(runs: list[Run]) -> Run:
    """Several runs as one: their requests over their time, the median of their medians."""
    return Run(
        sum(r.requests for r in runs),
        sum(r.seconds for r in runs),
        statistics.median(r.p50_ms for r in runs),
        sum(r.errors for r in runs),
    )


class Wrk:
    name = "wrk"

    def __init__(self, executable: str):
        self.executable = executable

    def run(self, url: str, cookie: str | None, seconds: float) -> Run:
        command = [
            self.executable,
            "--threads",
            "2",
            "--connections",
            str(CONNECTIONS),
            "--duration",
            f"{max(1, round(seconds))}s",
            "--latency",
            # gunicorn's own limit: a slow page is measured, not counted as failed.
            "--timeout",
            "30s",
        ]
        if cookie:
            command += ["--header", f"Cookie: {cookie}"]
        out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p50 = re.search(r"50%\s+([\d.]+)(us|ms|s|m)", out)
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errors = re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
        )
        failed = (int(bad.group(1)) if bad else 0) + (
            sum(int(n) for n in errors.groups()) if errors else 0
        )
        return Run(requests, requests / rate if rate else seconds, in_ms(*p50.groups()), failed)


def in_ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


class PythonLoad:
    """16 threads, each with its own connection, one request at a time: a request is sent as
    soon as the last answer is read. gunicorn's sync workers close each connection after the
    answer, so each request opens a new one, as wrk's do."""

    name = f"Python ({CONNECTIONS} threads)"

    def run(self, url: str, cookie: str | None, seconds: float) -> Run:
        parts = urlsplit(url)
        address = (parts.hostname, parts.port)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        head = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        if cookie:
            head += f"Cookie: {cookie}\r\n"
        request = (head + "\r\n").encode()
        latencies: list[list[float]] = [[] for _ in range(CONNECTIONS)]
        errors = [0] * CONNECTIONS
        start = threading.Barrier(CONNECTIONS + 1)
        stop = threading.Event()

        def client(n: int) -> None:
            mine, sock, buffer = latencies[n], None, b""
            start.wait()
            while not stop.is_set():
                began = time.perf_counter()
                try:
                    if sock is None:
                        sock = socket.create_connection(address)
                    sock.sendall(request)
                    status, close, buffer = read_answer(sock, buffer)
                except OSError:
                    errors[n] += 1
                    status, close, buffer = 0, True, b""
                if close and sock is not None:
                    sock.close()
                    sock = None
                if status != 200:
                    errors[n] += 1
                    continue
                mine.append(time.perf_counter() - began)
            if sock is not None:
                sock.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CONNECTIONS)]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        every = [latency for mine in latencies for latency in mine]
        return Run(
            len(every),
            elapsed,
            statistics.median(every) * 1000 if every else float("nan"),
            sum(errors),
        )


def read_answer(sock: socket.socket, buffer: bytes) -> tuple[int, bool, bytes]:
    """Reads one HTTP/1.1 answer; returns its status, whether the server closes the connection,
    and whatever followed it."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("closed before the headers")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    close = headers.get("connection") == "close"
    if "content-length" in headers:
        length = int(headers["content-length"])
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("closed before the body")
            rest += chunk
        return status, close, rest[length:]
    # No length: the body runs to the end of the connection.
    while chunk := sock.recv(65536):
        rest += chunk
    return status, True, b""


# --- the database ------------------------------------------------------------------------------


def story_build():
    """The tests' story, with one action in progress for the action page."""
    from tenants.scoping import tenant_scope
    from tests.conftest import build_story

    story = build_story()
    with tenant_scope(story.tenant):
        action = story.action_in("in_progress", reference="1.1")
    return story, action


def other_tenant_story(story):
    """The story as Sunderland's: bulk_actions then grows Sunderland's own plan."""
    other = story.other_action
    return dataclasses.replace(
        story,
        tenant=story.other_tenant,
        plan=story.other_plan,
        bob=story.charlie,
        police=other.lead_partner,
        lscb=other.sign_off_body,
    )


def grow(story, other, size: int, grown: int) -> None:
    from tenants.scoping import tenant_scope
    from tests.plans.factories import bulk_actions

    with tenant_scope(story.tenant):
        bulk_actions(story, size - grown, start=grown)
    with tenant_scope(other.tenant):
        # Past the references Sunderland's own action has (9.9).
        bulk_actions(other, size - grown, start=100_000 + grown)


def session_cookie(user) -> str:
    """A signed-in session made directly, as signing in would leave it."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from tenants.middleware import REFRESHED_AT

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[REFRESHED_AT] = int(time.time())
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


# --- gunicorn ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_start(port: int, database_url: str) -> subprocess.Popen:
    environment = {**os.environ, "DATABASE_URL": database_url}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "scripts")])
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "sync",
            "--chdir",
            str(ROOT),
            "--log-level",
            "warning",
        ],
        env=environment,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("gunicorn did not start; its messages are above.")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    gunicorn_stop(process)
    sys.exit("gunicorn did not answer within 30 s.")


def gunicorn_stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def answer_status(base: str, path: str, cookie: str | None) -> int:
    parts = urlsplit(base + path)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        head = f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        if cookie:
            head += f"Cookie: {cookie}\r\n"
        sock.sendall((head + "\r\n").encode())
        return read_answer(sock, b"")[0]


# --- measuring ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Page:
    name: str
    person: str
    path: str


@dataclasses.dataclass
class Result:
    size: int
    page: Page
    queries: int
    run: Run
    floor: Run
    anonymous_floor: float

    @property
    def ratio(self) -> float:
        return self.run.rate / self.floor.rate

    @property
    def anonymous_ratio(self) -> float:
        return self.run.rate / self.anonymous_floor


def pages_of(story, action) -> list[Page]:
    slug = story.tenant.slug
    plan = f"/t/{slug}/plans/{story.plan.pk}/"
    return [
        *(Page(f"home: {role}", person, f"/t/{slug}/") for role, person in HOME_PEOPLE),
        Page(PLAN_PAGE, "alice", plan),
        Page("plan page, filtered", "alice", f"{plan}?state=in_progress&q=Bulk&page=2"),
        Page("my actions", "bob", f"/t/{slug}/my-actions/"),
        Page("action page", "bob", f"/t/{slug}/actions/{action.pk}/"),
    ]


def queries_counted(client, cookie: str, path: str) -> int:
    from tests.querycount import queries_for

    name, _, value = cookie.partition("=")
    client.cookies[name] = value
    return queries_for(client, path)


def drained(base: str, run: Run) -> Run:
    """``run``, once the server has answered what it still held when the load generator
    stopped: up to one request per connection, queued, which would otherwise fall on the next
    run. Requests sent now queue behind them; then one more request's time for the last ones
    the workers may still be on."""
    threads = [
        threading.Thread(target=answer_status, args=(base, ANONYMOUS_FLOOR, None))
        for _ in range(2 * WORKERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if run.rate:
        time.sleep(min(2.0, WORKERS / run.rate))
    return run


def measure_size(
    size, pages, cookies, generator, base, seconds, floor_seconds, rounds, warmed
) -> list[Result]:
    from django.test import Client

    def run(path: str, cookie: str | None, length: float) -> Run:
        return drained(base, generator.run(base + path, cookie, length))

    client = Client()
    anonymous = [run(ANONYMOUS_FLOOR, None, floor_seconds).rate]
    results = []
    for page in pages:
        cookie = cookies[page.person]
        status = answer_status(base, page.path, cookie)
        if status != 200:
            sys.exit(f"{page.name} ({page.path}) answered {status} through gunicorn.")
        queries = queries_counted(client, cookie, page.path)
        if page.path not in warmed:
            run(page.path, cookie, min(1.0, seconds))
            warmed.add(page.path)
        # Each run of the page between runs of the floor: the machine's noise falls on both.
        floors, runs = [run(FLOOR, cookie, floor_seconds)], []
        for _ in range(rounds):
            runs.append(run(page.path, cookie, seconds))
            floors.append(run(FLOOR, cookie, floor_seconds))
        floor, measured = runs_joined(floors), runs_joined(runs)
        for what, joined in (("floor", floor), (page.name, measured)):
            if joined.errors or not joined.requests:
                sys.exit(
                    f"{what}: {joined.errors} requests failed and {joined.requests} were "
                    "answered under load."
                )
        results.append(Result(size, page, queries, measured, floor, 0.0))
        say(
            f"  {size:>5}  {page.name:<22} {queries:>4} q  {measured.rate:>7.1f} req/s  "
            f"p50 {measured.p50_ms:>7.1f} ms  floor {floor.rate:>7.1f} req/s  "
            f"ratio {measured.rate / floor.rate:.3f}"
        )
    anonymous.append(run(ANONYMOUS_FLOOR, None, floor_seconds).rate)
    for result in results:
        result.anonymous_floor = statistics.mean(anonymous)
    return results


# --- goals -------------------------------------------------------------------------------------


def goals(results: list[Result]) -> list[dict]:
    by = {(r.size, r.page.name): r for r in results}
    lines = []

    def floor_text(r: Result) -> str:
        return f"bare view, signed in: {r.floor.rate:.0f} req/s"

    def here_text(r: Result) -> str:
        return f"{r.run.rate:.1f} req/s, p50 {r.run.p50_ms:.0f} ms, {r.queries} queries"

    plan = by.get((GOAL_SIZE, PLAN_PAGE))
    if plan:
        lines.append(
            {
                "measure": f"plan page, {GOAL_SIZE} actions",
                "floor": floor_text(plan),
                "here": here_text(plan),
                "ratio": round(plan.ratio, 4),
                "goal": ">= 0.05",
                "met": plan.ratio >= 0.05,
            }
        )
    large = by.get((max(SIZES), PLAN_PAGE))
    if plan and large:
        # Time per request, each against its own floor's, so the machine's noise cancels.
        times = plan.ratio / large.ratio
        lines.append(
            {
                "measure": f"plan page, {max(SIZES):,} actions against {GOAL_SIZE}",
                "floor": f"{GOAL_SIZE} actions: {here_text(plan)} (ratio {plan.ratio:.4f})",
                "here": f"{max(SIZES):,} actions: {here_text(large)} (ratio {large.ratio:.4f})",
                "ratio": round(times, 3),
                "goal": "< 5 (times the 300-action time, each against its floor)",
                "met": times < 5,
            }
        )
    for result in results:
        if result.size != GOAL_SIZE or result.page.name.startswith(PLAN_PAGE):
            continue
        lines.append(
            {
                "measure": f"{result.page.name}, {GOAL_SIZE} actions",
                "floor": floor_text(result),
                "here": here_text(result),
                "ratio": round(result.ratio, 4),
                "goal": ">= 0.10",
                "met": result.ratio >= 0.10,
            }
        )
    return lines


def main() -> None:
    args = parse_args()
    configure_environment()
    redis_url = os.environ["REDIS_URL"]
    if not redis_reachable(redis_url):
        sys.exit(f"Redis does not answer at {redis_url}: production caches there; set REDIS_URL.")

    import django

    django.setup()

    from bench_reports import database_recreate
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from tenants.models import User
    from tenants.postgresql.roles import CREDENTIALS, application_role_grant

    wrk = shutil.which("wrk")
    generator = Wrk(wrk) if wrk and not args.python_load else PythonLoad()
    say(
        f"{os.cpu_count()} CPUs; {load()}; load generator: {generator.name}, {CONNECTIONS} "
        f"connections; gunicorn, {WORKERS} sync workers; {args.rounds} run(s) of "
        f"{args.seconds:g} s a page, each between floor runs of {args.floor_seconds:g} s"
    )
    database_recreate()
    gunicorn = None
    owner = {key: connection.settings_dict.get(key) for key in CREDENTIALS}
    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        call_command("collectstatic", verbosity=0, interactive=False, clear=True)
        role = f"{connection.settings_dict['NAME']}_app"[:63]
        password = secrets.token_urlsafe(24)
        application_role_grant(role=role, password=password)
        connection.close()
        settings.DATABASE_OWNER = owner
        connection.settings_dict.update(USER=role, PASSWORD=password)
        # The people's passwords are never used: a quick hash saves seconds of building.
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        story, action = story_build()
        other = other_tenant_story(story)
        pages = pages_of(story, action)
        cookies = {
            person: session_cookie(User.objects.get(pk=getattr(story, person).pk))
            for person in {page.person for page in pages}
        }
        say(f"built in {time.perf_counter() - started:.0f} s")

        database = urlsplit(os.environ["DATABASE_URL"])
        application_url = database._replace(
            netloc=f"{quote(role)}:{quote(password)}@{database.hostname}"
            f"{':' + str(database.port) if database.port else ''}"
        ).geturl()
        port = args.port or free_port()
        gunicorn = gunicorn_start(port, application_url)
        base = f"http://127.0.0.1:{port}"
        for path, cookie in ((FLOOR, cookies["bob"]), (ANONYMOUS_FLOOR, None)):
            if (status := answer_status(base, path, cookie)) != 200:
                sys.exit(f"the floor {path} answered {status}")
        warmed: set[str] = set()
        results: list[Result] = []
        grown = 1
        say()
        for size in SIZES:
            grow(story, other, size, grown)
            grown = size
            measured = [
                page
                for page in pages
                if args.every_size or size == GOAL_SIZE or page.name.startswith(PLAN_PAGE)
            ]
            say(f"{size} actions (and as many in Sunderland); {load()}")
            results += measure_size(
                size,
                measured,
                cookies,
                generator,
                base,
                args.seconds,
                args.floor_seconds,
                args.rounds,
                warmed,
            )
        say()
        say(f"done; {load()}")
        say()
        say("| actions | page | queries | req/s | p50 | floor signed in | ratio | "
            "floor signed out | ratio to it |")  # fmt: skip
        say("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in results:
            say(
                f"| {r.size:,} | {r.page.name} | {r.queries} | {r.run.rate:.1f} | "
                f"{r.run.p50_ms:.0f} ms | {r.floor.rate:.0f} | {r.ratio:.3f} | "
                f"{r.anonymous_floor:.0f} | {r.anonymous_ratio:.3f} |"
            )
        lines = goals(results)
        say()
        say("| goal | ratio | wanted | met |")
        say("| --- | --- | --- | --- |")
        for line in lines:
            say(f"| {line['measure']} | {line['ratio']} | {line['goal']} | "
                f"{'yes' if line['met'] else 'no'} |")  # fmt: skip
        if args.summary:
            args.summary.parent.mkdir(parents=True, exist_ok=True)
            with args.summary.open("a") as out:
                for line in lines:
                    out.write(json.dumps(line) + "\n")
            say(f"goals appended to {args.summary}")
    finally:
        if gunicorn is not None:
            gunicorn_stop(gunicorn)
        connection.close()
        connection.settings_dict.update(owner)
        if not args.keep:
            database_recreate(drop_only=True)
        else:
            say(f"kept the database {connection.settings_dict['NAME']}")


if __name__ == "__main__":
    main()
