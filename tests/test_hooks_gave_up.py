"""The post-checkout and post-merge hooks never keep git waiting on a database server that
accepts connections and never answers (issue 11): the real installed hooks, run by `git
checkout` and `git merge` in a real repository, give up within seconds and say so."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .gitrepo import Repo, add_slug, make_repo
from .test_db_integrity import silent_server

SCHEMES = ["mysql+pymysql", "postgresql+psycopg"]
BOUND = 30  # seconds: git must be done well within this (the hooks wait about 3)


def git_timed(repo: Repo, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    run = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                         cwd=repo.root, env=repo.env(), capture_output=True, text=True,
                         timeout=BOUND * 4)
    return run, time.monotonic() - started


def with_migration_to_lose(tmp_path: Path, url: str) -> Repo:
    """main with 0002 committed; branch `before` lacks it (checking it out takes the file
    away); branch `dropped`, ahead of main, deletes it (merging it takes the file away)."""
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    repo.write("pyproject.toml", repo.read("pyproject.toml").replace(
        'database = "sqlite:///db.sqlite3"', f'database = "{url}"'))
    assert repo.commit(message="database").exit_code == 0
    repo.git("branch", "-q", "before")
    add_slug(repo)
    made = repo.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    assert repo.commit(message="slug").exit_code == 0
    repo.git("checkout", "-q", "-b", "dropped")
    repo.git("rm", "-q", *[f"blog/migrations/{n}" for n in repo.migrations("blog")
                            if n.startswith("0002")])
    repo.git("commit", "-q", "--no-verify", "-m", "drop 0002")
    repo.git("checkout", "-q", "main")
    # Installed last: the hooks under test are the real ones, and the setup above does not
    # run them (the pre-commit check and two checkouts, a few seconds a test).
    done = repo.run_python("-m", "gitmig", "hooks", "install")
    assert done.exit_code == 0, done.output
    return repo


def assert_gave_up(run: subprocess.CompletedProcess[str], took: float, port: int) -> None:
    assert run.returncode == 0, run.stderr
    assert took < BOUND, took
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if "gave up" in line]
    assert len(lines) == 1, run.stderr
    (line,) = lines
    assert line.startswith("gitmig: warning: gave up checking for applied migrations this "
                           "branch lacks after "), line
    assert f"127.0.0.1:{port}/db" in line and "pw" not in line.replace("***", ""), line
    assert "`gitmig showmigrations`" in line, line  # what to do instead


@pytest.mark.slow
@pytest.mark.parametrize("scheme", SCHEMES)
def test_post_checkout_gives_up_on_a_silent_server(tmp_path: Path, scheme: str) -> None:
    with silent_server() as port:
        repo = with_migration_to_lose(tmp_path, f"{scheme}://u:pw@127.0.0.1:{port}/db")
        run, took = git_timed(repo, "checkout", "-q", "before")
        assert_gave_up(run, took, port)
    assert repo.git("rev-parse", "--abbrev-ref", "HEAD").stdout == "before\n"


@pytest.mark.slow
@pytest.mark.parametrize("scheme", SCHEMES)
def test_post_merge_gives_up_on_a_silent_server(tmp_path: Path, scheme: str) -> None:
    with silent_server() as port:
        repo = with_migration_to_lose(tmp_path, f"{scheme}://u:pw@127.0.0.1:{port}/db")
        run, took = git_timed(repo, "merge", "-q", "--ff-only", "dropped")
        assert_gave_up(run, took, port)
    assert repo.git("rev-parse", "HEAD").stdout == repo.git("rev-parse", "dropped").stdout


@contextlib.contextmanager
def dribbling_server() -> Iterator[int]:
    """A server that answers a connection with one byte of a long greeting every half
    second: each read gets something before any socket timeout, so only the hook's own
    deadline ends the wait."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.sendall(b"\xff\xff\x00\x00")  # a packet of 65535 bytes is coming
            while not stop.wait(0.5):
                conn.sendall(b"\x0a")

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = server.accept()
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        server.close()


@pytest.mark.slow
def test_the_hook_s_own_deadline_ends_a_wait_no_driver_timeout_ends(tmp_path: Path) -> None:
    with dribbling_server() as port:
        repo = with_migration_to_lose(tmp_path, f"mysql+pymysql://u:pw@127.0.0.1:{port}/db")
        run, took = git_timed(repo, "checkout", "-q", "before")
        assert_gave_up(run, took, port)
    assert "gave up checking for applied migrations this branch lacks after 6 s: the " in (
        run.stderr)
    assert repo.git("rev-parse", "--abbrev-ref", "HEAD").stdout == "before\n"


@pytest.mark.slow
@pytest.mark.parametrize("scheme", SCHEMES)
def test_status_does_not_hang_on_a_silent_server(tmp_path: Path, scheme: str) -> None:
    """The issue saw `gitmig status` hang too: it waits the connect timeout, then says so."""
    with silent_server() as port:
        repo = with_migration_to_lose(tmp_path, f"{scheme}://u:pw@127.0.0.1:{port}/db")
        started = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "gitmig", "status"], cwd=repo.root,
                             env={**os.environ, "GITMIG_CONNECT_TIMEOUT": "2"},
                             capture_output=True, text=True, timeout=BOUND * 4)
        took = time.monotonic() - started
    assert took < BOUND, took
    assert "Traceback" not in run.stderr
    assert f"cannot connect to the database {scheme}://u:***@127.0.0.1:{port}/db" in (
        run.stdout + run.stderr), run.stdout + run.stderr


@pytest.mark.slow
def test_post_merge_never_shows_a_query_string_password(tmp_path: Path) -> None:
    """The issue saw the post-merge hook print `?password=...` in full."""
    from .test_db_integrity import closed_port

    secret = "Sekr3t-Zq9"
    port = closed_port()
    repo = with_migration_to_lose(
        tmp_path, f"postgresql+psycopg://u@127.0.0.1:{port}/db?password={secret}")
    run, took = git_timed(repo, "merge", "-q", "--ff-only", "dropped")
    assert run.returncode == 0, run.stderr
    assert secret not in run.stderr
    assert (f"not checking for applied migrations this branch lacks: cannot connect to the "
            f"database postgresql+psycopg://u@127.0.0.1:{port}/db?password=***: ") in run.stderr
