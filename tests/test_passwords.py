"""A password in a database URL appears in no output, error message or file gitmig writes.

Every command that takes a database runs with a URL holding a distinctive password:
unreachable servers, a malformed URL, a driver that is not installed, a MariaDB user
whose password is wrong, and a PostgreSQL server that trusts local connections (so the
wrong password gets in, and gitmig works normally). The URL comes from --database,
GITMIG_DATABASE_URL or pyproject.toml. stdout and stderr are searched for the password,
in every form it could take (as written, URL-encoded), and so is every file under the
project afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from .conftest import Result
from .gitrepo import Repo, add_slug, make_repo

PASSWORD = "Pw-7#kQz!s3cr3t"
FORMS = (PASSWORD, quote(PASSWORD, safe=""), quote(PASSWORD), "7#kQz", "kQz!s3cr3t")

DB_COMMANDS: list[tuple[str, ...]] = [
    ("migrate",),
    ("migrate", "--plan"),
    ("migrate", "--check"),
    ("migrate", "--fake"),
    ("migrate", "blog", "zero"),
    ("showmigrations",),
    ("showmigrations", "--json"),
    ("showmigrations", "--plan"),
    ("sqlmigrate", "blog", "0001"),
    ("status",),
    ("status", "--json"),
    ("makemigrations", "--amend", "--no-input"),
]

OTHER_COMMANDS: list[tuple[str, ...]] = [
    ("makemigrations", "--check"),
    ("makemigrations", "--dry-run", "-v", "3"),
    ("diff",),
    ("diff", "--json"),
    ("conflicts",),
    ("hooks", "status"),
    ("hooks", "run", "pre-commit"),
]


def with_password(url: str, password: str = PASSWORD) -> str:
    return sa.engine.make_url(url).set(password=password).render_as_string(hide_password=False)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    add_slug(repo)  # a model change, so that makemigrations --amend has something to do
    return repo


def shown(result: Result) -> str:
    return result.stdout + result.stderr


def assert_hidden(text: str, where: str) -> None:
    for form in FORMS:
        assert form not in text, f"{where}: the password ({form!r}) is shown:\n{text}"


def assert_no_file_holds_it(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            for form in FORMS:
                assert form.encode() not in data, f"{path} holds the password"


def run_all(repo: Repo, url: str, *, expect_error: bool, others: bool = False) -> list[Result]:
    """Every database command, with the URL given each of the three ways."""
    results = []
    pyproject = repo.read("pyproject.toml")
    for command in DB_COMMANDS:
        cli = repo.gitmig(*command, "--database", url)
        env = repo.gitmig(*command, env={"GITMIG_DATABASE_URL": url})
        for result, how in ((cli, "--database"), (env, "GITMIG_DATABASE_URL")):
            assert_hidden(shown(result), f"{' '.join(command)} ({how})")
            if expect_error:
                assert result.exit_code in (1, 2), (command, how, shown(result))
            results.append(result)
    repo.write("pyproject.toml", pyproject.replace('"sqlite:///db.sqlite3"', f'"{url}"'))
    try:
        for command in [c for c in DB_COMMANDS if "sqlmigrate" not in c]:
            result = repo.gitmig(*command)
            assert_hidden(shown(result), f"{' '.join(command)} (pyproject.toml)")
            results.append(result)
        hook = repo.gitmig("hooks", "run", "post-checkout", "0" * 40, "1" * 40, "1")
        assert_hidden(shown(hook), "post-checkout hook")
        for command in OTHER_COMMANDS if others else []:  # they read the URL's pyproject
            result = repo.gitmig(*command)
            assert_hidden(shown(result), f"{' '.join(command)} (pyproject.toml)")
    finally:
        repo.write("pyproject.toml", pyproject)
    assert_no_file_holds_it(repo.root)
    return results


@pytest.mark.slow  # each waits for a database that cannot answer
@pytest.mark.parametrize("url", [
    f"postgresql://gm_user:{quote(PASSWORD, safe='')}@127.0.0.1:1/shop",
    f"mysql+pymysql://gm_user:{quote(PASSWORD, safe='')}@127.0.0.1:1/shop",
    f"postgresql+psycopg://gm_user:{quote(PASSWORD, safe='')}@127.0.0.1:1/shop?sslmode=disable",
    f"postgresql://gm_user:{quote(PASSWORD, safe='')}@127.0.0.1:notaport/shop",
    f"oracle+nosuchdriver://gm_user:{quote(PASSWORD, safe='')}@127.0.0.1/shop",
    f"postgresql://gm_user:{PASSWORD}@127.0.0.1:1/shop",  # unencoded: not even a valid URL
], ids=["postgresql", "mysql", "postgresql-options", "bad-port", "no-driver", "malformed"])
def test_unreachable_or_unusable_databases_never_show_the_password(repo: Repo, url: str) -> None:
    results = run_all(repo, url, expect_error=True, others="notaport" in url)
    errors = [r.stderr for r in results if r.exit_code == 2]
    assert errors, "no command failed"
    assert any("***" in e or "not a valid SQLAlchemy URL" in e for e in errors), errors


@pytest.fixture
def mariadb_user(mysql_url: str) -> Iterator[str]:
    """A MariaDB user with a password, allowed into the test's database."""
    user = f"gm_{uuid.uuid4().hex[:8]}"
    url = sa.engine.make_url(mysql_url)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE USER '{user}'@'%%' IDENTIFIED BY 'the-right-one'")
        conn.exec_driver_sql(f"CREATE USER '{user}'@'localhost' IDENTIFIED BY 'the-right-one'")
        conn.exec_driver_sql(f"GRANT ALL ON {url.database}.* TO '{user}'@'%%'")
        conn.exec_driver_sql(f"GRANT ALL ON {url.database}.* TO '{user}'@'localhost'")
    try:
        yield url.set(username=user).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP USER IF EXISTS '{user}'@'%%'")
            conn.exec_driver_sql(f"DROP USER IF EXISTS '{user}'@'localhost'")
        engine.dispose()


@pytest.mark.slow
def test_a_wrong_password_on_mariadb_is_refused_and_never_shown(
    repo: Repo, mariadb_user: str
) -> None:
    url = with_password(mariadb_user)
    results = run_all(repo, url, expect_error=True)
    denied = [r.stderr for r in results if "Access denied" in r.stderr]
    assert denied, [r.stderr for r in results]
    for stderr in denied:
        assert stderr.startswith("gitmig: error: cannot connect to the database mysql+pymysql://"
                                 f"{sa.engine.make_url(url).username}:***@"), stderr
    # The right password works, and is not shown either.
    right = with_password(mariadb_user, "the-right-one")
    ok = repo.gitmig("migrate", "--database", right)
    assert ok.exit_code == 0, ok.output
    assert "the-right-one" not in shown(ok)


@pytest.mark.slow
def test_a_trusting_postgresql_lets_a_wrong_password_in_and_never_shows_it(
    repo: Repo, postgres_url: str
) -> None:
    """This server trusts local TCP connections (pg_hba `trust`): the password is never
    checked, so every command works as usual. Nothing it prints holds the password."""
    url = with_password(postgres_url)
    results = run_all(repo, url, expect_error=False, others=True)
    assert any(r.exit_code == 0 and "Applying blog.0001_initial... OK" in r.stdout
               for r in results), [shown(r) for r in results]
    assert any('"database": "postgresql://postgres:***@' in r.stdout for r in results)


@pytest.mark.slow
def test_in_a_separate_process_too(repo: Repo) -> None:
    """No library prints the URL behind gitmig's back (warnings, logging) in a real run."""
    url = f"postgresql://gm_user:{quote(PASSWORD, safe='')}@127.0.0.1:1/shop"
    for command in (("migrate",), ("status",), ("showmigrations", "--json")):
        proc = subprocess.run(
            [sys.executable, "-W", "always", "-m", "gitmig", *command, "--database", url],
            cwd=repo.root, capture_output=True, text=True, timeout=60,
            env={**os.environ, "PYTHONWARNINGS": "always"},
        )
        assert proc.returncode in (1, 2), proc.stderr
        assert_hidden(proc.stdout + proc.stderr, " ".join(command))
        assert "***" in proc.stdout + proc.stderr
