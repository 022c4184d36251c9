"""A real ClamAV daemon for the scanning tests, started once per test process.

Its signature database is written here: one MD5 hash signature (``.hdb``) of ``INFECTED``, so
that file is "a virus" to clamd and everything else is clean. No freshclam, no network. clamd
comes from Debian's ``clamav-daemon`` package (``.ci/run`` installs it when missing).
"""

import hashlib
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from plans.scanning import scanner_ping
from tests.conftest import REQUIRE_SERVICES

# A genuine-looking PDF that the test's own signature names a virus.
INFECTED = b"%PDF-1.4\n% the scanning tests' pretend virus, known to clamd by its hash\n%%EOF\n"
SIGNATURE = "Safeguarding.Test.PretendVirus"
CLEAN = b"%PDF-1.4\n% minutes of the LSCB board, nothing to fear\n%%EOF\n"
STARTUP_SECONDS = 90


def _need(what: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"This test needs {what} and REQUIRE_SERVICES=1.")
    pytest.skip(f"needs {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Clamd:
    tcp_url: str
    unix_url: str
    log: Path


def _clamd_binary() -> str | None:
    return shutil.which("clamd") or next(
        (path for path in ("/usr/sbin/clamd", "/usr/bin/clamd") if Path(path).exists()), None
    )


@pytest.fixture(scope="session")
def clamd(tmp_path_factory):
    binary = _clamd_binary()
    if binary is None:
        _need("clamd (Debian package clamav-daemon)")
    home = tmp_path_factory.mktemp("clamd")
    database = home / "db"
    database.mkdir()
    (database / "safeguarding-tests.hdb").write_text(
        f"{hashlib.md5(INFECTED).hexdigest()}:{len(INFECTED)}:{SIGNATURE}\n"
    )
    port = free_port()
    socket_path = home / "clamd.sock"
    log = home / "clamd.log"
    config = home / "clamd.conf"
    config.write_text(
        "\n".join(
            [
                "Foreground yes",
                f"DatabaseDirectory {database}",
                f"TemporaryDirectory {home}",
                f"LocalSocket {socket_path}",
                "TCPAddr 127.0.0.1",
                f"TCPSocket {port}",
                f"LogFile {log}",
                "LogVerbose yes",
                # No update daemon here to tell it the database changed.
                "SelfCheck 0",
                "",
            ]
        )
    )
    process = subprocess.Popen(
        [binary, "--config-file", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    running = Clamd(tcp_url=f"tcp://127.0.0.1:{port}", unix_url=f"unix://{socket_path}", log=log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not scanner_ping(url=running.tcp_url, timeout=2):
            if process.poll() is not None or time.monotonic() > deadline:
                output = log.read_text() if log.exists() else "(no log)"
                _need(f"a clamd that starts (it did not answer PING):\n{output[-2000:]}")
            time.sleep(0.1)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def scanning(settings, clamd, tmp_path) -> Clamd:
    """Scanning on, against the running clamd, with a quarantine of the test's own."""
    settings.EVIDENCE_SCANNING = True
    settings.CLAMD_URL = clamd.tcp_url
    settings.CLAMD_TIMEOUT_SECONDS = 10
    settings.QUARANTINE_ROOT = tmp_path / "quarantine"
    return clamd


@pytest.fixture
def stopped_scanner(settings, scanning) -> str:
    """Scanning on, but nothing answers at the scanner's address: clamd stopped."""
    settings.CLAMD_URL = f"tcp://127.0.0.1:{free_port()}"
    return settings.CLAMD_URL


@pytest.fixture
def silent_scanner(settings, scanning):
    """Scanning on, and something at the address takes the connection but never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        settings.CLAMD_URL = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        settings.CLAMD_TIMEOUT_SECONDS = 1
        yield settings.CLAMD_URL
