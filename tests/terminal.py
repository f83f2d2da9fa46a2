"""Running gitmig on a pseudo-terminal, answering its questions as a person would."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path


def run_in_terminal(
    args: list[str], cwd: Path, answers: list[tuple[str, str]], timeout: float = 60.0
) -> tuple[int, str]:
    """Run `gitmig ARGS` with a terminal as stdin/stdout; when the output so far ends with
    (the stripped form of) a prompt in `answers`, type its reply. Returns (exit code, output).
    """
    primary, secondary = pty.openpty()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "TERM": "dumb", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitmig", *args],
        cwd=cwd, stdin=secondary, stdout=secondary, stderr=secondary, env=env, close_fds=True,
    )
    os.close(secondary)
    output = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(primary, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                output += chunk
                text = output.decode(errors="replace")
                if pending and text.rstrip().endswith(pending[0][0].rstrip()):
                    os.write(primary, pending.pop(0)[1].encode() + b"\r")
            elif proc.poll() is not None:
                break
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    return proc.returncode, output.decode(errors="replace").replace("\r\n", "\n")
