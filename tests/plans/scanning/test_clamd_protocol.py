"""clamd's INSTREAM protocol as the scanner module speaks it, against a stand-in that checks the
framing and answers as clamd does, and the answers it must never take for clean."""

import socket
import struct
import threading

import pytest

from plans.scanning import (
    CHUNK_BYTES,
    ScannerUnavailable,
    chunks_scan,
    scanner_address,
    verdict_of,
)


class StandIn:
    """Takes one INSTREAM, keeps the chunks it got, and gives ``answer``."""

    def __init__(self, answer: bytes):
        self.answer = answer
        self.command = b""
        self.chunks: list[bytes] = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.url = f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _read(self, conn: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            part = conn.recv(size - len(data))
            if not part:
                raise ConnectionError("closed early")
            data += part
        return data

    def _serve(self):
        conn, _ = self.listener.accept()
        with conn:
            self.command = self._read(conn, len(b"zINSTREAM\0"))
            while True:
                (length,) = struct.unpack(">I", self._read(conn, 4))
                if length == 0:
                    break
                self.chunks.append(self._read(conn, length))
            conn.sendall(self.answer)
        self.listener.close()


def test_the_file_goes_in_length_prefixed_chunks_ended_by_a_zero_length():
    content = bytes(range(256)) * 1000  # 256,000 bytes: several chunks
    stand_in = StandIn(b"stream: OK\0")
    verdict = chunks_scan([content[:100_000], content[100_000:]], url=stand_in.url, timeout=5)
    stand_in.thread.join(5)
    assert verdict.clean
    assert stand_in.command == b"zINSTREAM\0"
    assert b"".join(stand_in.chunks) == content
    assert max(len(chunk) for chunk in stand_in.chunks) <= CHUNK_BYTES


def test_a_found_answer_names_what_was_found():
    stand_in = StandIn(b"stream: Win.Test.EICAR_HDB-1 FOUND\0")
    verdict = chunks_scan([b"X5O!P%@AP"], url=stand_in.url, timeout=5)
    assert not verdict.clean
    assert verdict.found == "Win.Test.EICAR_HDB-1"


@pytest.mark.parametrize(
    "answer",
    [
        "INSTREAM size limit exceeded. ERROR",
        "stream: Can't allocate memory ERROR",
        "UNKNOWN COMMAND",
        "",
        "stream: ok",
    ],
)
def test_any_answer_but_ok_or_found_means_the_file_was_not_checked(answer):
    with pytest.raises(ScannerUnavailable):
        verdict_of(answer)


def test_a_scanner_that_closes_without_answering_has_not_checked_the_file():
    stand_in = StandIn(b"")
    with pytest.raises(ScannerUnavailable):
        chunks_scan([b"%PDF-1.4"], url=stand_in.url, timeout=5)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("tcp://clamav:3310", "tcp://clamav:3310"),
        ("tcp://127.0.0.1:3310", "tcp://127.0.0.1:3310"),
        ("unix:///run/clamav/clamd.ctl", "unix:///run/clamav/clamd.ctl"),
    ],
)
def test_scanner_addresses_are_tcp_or_a_unix_socket(url, shown):
    assert str(scanner_address(url)) == shown


@pytest.mark.parametrize(
    "url",
    ["clamav:3310", "tcp://clamav", "tcp://:3310", "unix://clamd.ctl", "http://clamav:3310", ""],
)
def test_anything_else_is_not_a_scanner_address(url):
    with pytest.raises(ValueError, match=r"tcp://|unix://"):
        scanner_address(url)
    with pytest.raises(ScannerUnavailable):
        chunks_scan([b"data"], url=url, timeout=1)
