"""Run the zero-service demo: migrate, seed, sweep, then web server, Celery worker and beat.

Run from anywhere with the virtualenv's Python (``make demo`` does this). Ctrl-C stops everything;
if any one process dies the others are stopped too, so a half-running demo never lingers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
STOP_GRACE_SECONDS = 10.0


def prepare_environment() -> str:
    os.environ.setdefault("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    port = os.environ.get("PORT", "8000")
    if not port.isdigit() or not 0 < int(port) < 65536:
        sys.exit(f"PORT must be a TCP port number; got {port!r}.")
    # Password reset e-mails link to SITE_URL: the address printed below.
    os.environ.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    broker = Path(os.environ.get("CELERY_BROKER_DIR") or VAR / "broker")
    for folder in (VAR, VAR / "media", VAR / "mail", broker / "queue", broker / "processed"):
        folder.mkdir(parents=True, exist_ok=True)
    return port


def manage(*args: str) -> None:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT)
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed (exit {result.returncode}).")


def start(command: list[str]) -> subprocess.Popen[bytes]:
    # Each child leads its own process group: a terminal Ctrl-C reaches only this script, which
    # then signals each group once (runserver's autoreloader child included), instead of
    # children receiving it twice and Celery escalating to a cold shutdown.
    return subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, process_group=0)


def signal_all(children: list[subprocess.Popen[bytes]], sig: int) -> None:
    for child in children:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, sig)


def stop_all(children: list[subprocess.Popen[bytes]], sig: int) -> None:
    signal_all(children, sig)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and any(child.poll() is None for child in children):
        time.sleep(0.2)
    signal_all(children, signal.SIGKILL)
    for child in children:
        child.wait()


def main() -> int:
    os.chdir(ROOT)
    port = prepare_environment()
    manage("migrate", "--noinput")
    # Without Redis the cache, which holds the sign-in rate limits, is a database table.
    manage("createcachetable")
    manage("seed_demo")
    # The daily 07:00 sweep, once now: the demo's overdue actions are escalated straight away
    # and the worker prints the e-mails below. Run again on a later start, it sends nothing new.
    manage("escalation_sweep")

    python = sys.executable
    commands = {
        "web": [python, "manage.py", "runserver", f"127.0.0.1:{port}"],
        # Both queues (config/settings.py): deliveries, and the relay and sweep beat starts.
        "worker": [
            python, "-m", "celery", "-A", "config", "worker", "-Q", "celery,schedule",
            "--loglevel=INFO", "--concurrency=1", "--pool=solo",
        ],
        # The schedule is kept in the database (django-celery-beat): the admin can change it.
        "beat": [python, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"],
    }  # fmt: skip

    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    children = {name: start(command) for name, command in commands.items()}
    print(
        f"\n  Demo running at http://127.0.0.1:{port}/\n"
        "  Web server, Celery worker and beat are running; press Ctrl-C to stop.\n",
        flush=True,
    )

    while True:
        if received:
            print("\nStopping the demo...", flush=True)
            stop_all(list(children.values()), received[0])
            return 0
        for name, child in children.items():
            code = child.poll()
            if code is not None:
                print(f"\nThe {name} process exited (code {code}); stopping the demo.", flush=True)
                stop_all(list(children.values()), signal.SIGTERM)
                return code if code > 0 else 1
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
