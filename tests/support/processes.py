"""Stopping a server the tests started as a subprocess: politely, then firmly, never left running."""

from __future__ import annotations

import subprocess


def stop_process(proc: subprocess.Popen[str] | subprocess.Popen[bytes] | None, wait_s: float = 5.0) -> None:
    """Terminate ``proc`` (if still running) and reap it; kill it when it does not end within ``wait_s``."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(wait_s)
