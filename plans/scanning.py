"""Asking ClamAV's daemon, ``clamd``, whether a file carries a virus.

Speaks clamd's INSTREAM command over TCP (``tcp://host:3310``) or a Unix socket
(``unix:///run/clamav/clamd.ctl``): the file goes in chunks, each prefixed with its length as four
big-endian bytes, a zero length ends it, and clamd answers one line ending in a NUL byte:
``stream: OK``, ``stream: <signature> FOUND`` or ``... ERROR``. Anything else (no answer in time,
a refused connection, an error) means the file was not checked, never that it is clean.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

CHUNK_BYTES = 64 * 1024
# clamd's answer is one short line; more than this is not clamd.
ANSWER_MAX_BYTES = 4096


class ScannerUnavailable(Exception):
    """The file could not be checked: the scanner is down, slow, misconfigured or refused it."""


@dataclass(frozen=True)
class Verdict:
    # What clamd found ("Win.Test.EICAR_HDB-1"), or "" for a clean file.
    found: str = ""

    @property
    def clean(self) -> bool:
        return not self.found


@dataclass(frozen=True)
class ScannerAddress:
    family: int
    address: str | tuple[str, int]

    def __str__(self) -> str:
        if self.family == socket.AF_UNIX:
            return f"unix://{self.address}"
        host, port = self.address
        return f"tcp://{host}:{port}"


def scanner_address(url: str) -> ScannerAddress:
    """``tcp://host:port`` or ``unix:///path/to/socket``; ValueError for anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme == "unix":
        path = parts.path or parts.netloc
        if not path.startswith("/"):
            raise ValueError(f"{url!r}: a Unix socket needs an absolute path, unix:///run/...")
        return ScannerAddress(socket.AF_UNIX, path)
    if parts.scheme == "tcp":
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            raise ValueError(f"{url!r}: a TCP address needs a host and a port, tcp://clamav:3310")
        return ScannerAddress(
            socket.AF_INET6 if ":" in parts.hostname else socket.AF_INET, (parts.hostname, port)
        )
    raise ValueError(f"{url!r}: the scanner's address starts tcp:// or unix://")


def _connect(address: ScannerAddress, timeout: float) -> socket.socket:
    if address.family == socket.AF_UNIX:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(address.address)
        except BaseException:
            sock.close()
            raise
        return sock
    return socket.create_connection(address.address, timeout=timeout)


def _read_answer(sock: socket.socket) -> str:
    answer = b""
    while not answer.endswith(b"\0"):
        part = sock.recv(ANSWER_MAX_BYTES)
        if not part:
            break
        answer += part
        if len(answer) > ANSWER_MAX_BYTES:
            raise ScannerUnavailable("The scanner's answer is too long to be clamd's.")
    return answer.rstrip(b"\0").decode("utf-8", "replace").strip()


def verdict_of(answer: str) -> Verdict:
    """clamd's answer to one INSTREAM as a verdict; ScannerUnavailable unless it is OK or FOUND."""
    _, _, result = answer.partition(": ")
    if answer.startswith("stream") and result == "OK":
        return Verdict()
    if answer.startswith("stream") and result.endswith(" FOUND"):
        return Verdict(found=result.removesuffix(" FOUND").strip() or "unnamed")
    raise ScannerUnavailable(f"The scanner did not check the file: {answer or 'no answer'}")


def chunks_scan(chunks: Iterable[bytes], *, url: str, timeout: float) -> Verdict:
    """Send ``chunks`` (a file's content in order) to the clamd at ``url``."""
    try:
        address = scanner_address(url)
    except ValueError as error:
        raise ScannerUnavailable(str(error)) from None
    try:
        with _connect(address, timeout) as sock:
            sock.sendall(b"zINSTREAM\0")
            for chunk in chunks:
                for start in range(0, len(chunk), CHUNK_BYTES):
                    piece = chunk[start : start + CHUNK_BYTES]
                    sock.sendall(struct.pack(">I", len(piece)) + piece)
            sock.sendall(struct.pack(">I", 0))
            answer = _read_answer(sock)
    except OSError as error:
        # A file larger than clamd's StreamMaxLength makes it answer and close early, which
        # the sender may see as a broken pipe; either way the file was not checked.
        raise ScannerUnavailable(f"The scanner at {address} did not answer: {error}") from None
    return verdict_of(answer)


def upload_scan(upload, *, url: str, timeout: float) -> Verdict:
    """Scan an uploaded file (or any Django ``File``) from its start, leaving it rewound."""
    upload.seek(0)
    try:
        return chunks_scan(upload.chunks(CHUNK_BYTES), url=url, timeout=timeout)
    finally:
        upload.seek(0)


def scanner_ping(*, url: str, timeout: float) -> bool:
    """Whether clamd at ``url`` answers PING with PONG."""
    try:
        with _connect(scanner_address(url), timeout) as sock:
            sock.sendall(b"zPING\0")
            return _read_answer(sock) == "PONG"
    except (OSError, ValueError, ScannerUnavailable):
        return False
