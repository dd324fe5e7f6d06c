"""Loopback TCP endpoints that misbehave the ways an unreachable or broken AWS endpoint does.

* ``silent``: accepts and never reads or answers (a request larger than the socket buffers cannot even be sent);
* ``swallow``: accepts, reads everything sent, never answers;
* ``close``: accepts and closes at once;
* ``trickle``: reads the request, then answers one byte of a status line and header every 0.2 s, forever (every
  socket wait is short, so only a bound on the whole call ends it).

Each counts the connections it accepted, so a test can show the calls reached it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

MODES = ("silent", "swallow", "close", "trickle")


class DeadEndpoint:
    def __init__(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode
        self.accepted = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"dead-{mode}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self.mode == "close":
                conn.close()
                continue
            self._open.append(conn)
            if self.mode in ("swallow", "trickle"):
                threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(0.05)
        answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000
        sent = 0
        while not self._stop.is_set():
            try:
                if not conn.recv(65536):
                    return
                continue
            except TimeoutError:
                pass
            except OSError:
                return
            if self.mode == "trickle" and sent < len(answer):
                try:
                    conn.sendall(answer[sent : sent + 1])
                except OSError:
                    return
                sent += 1
                time.sleep(0.15)

    def __enter__(self) -> DeadEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()
        for conn in self._open:
            with suppress(OSError):
                conn.close()


@contextmanager
def dead_endpoint(mode: str) -> Iterator[DeadEndpoint]:
    with DeadEndpoint(mode) as endpoint:
        yield endpoint
