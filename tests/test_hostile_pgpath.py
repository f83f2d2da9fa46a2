"""Hostile trial of the SQL replay into an empty PostgreSQL database (gitmig.actions.warmpg):
runs at once, databases that are not quite empty, settings and URLs that change the SQL,
migrations that cannot be replayed, tampered entries, killed connections. Each compares
what a user sees (output, exit code, schema, history) with a cold run's (GITMIG_NO_CACHE=1)
on the same database, or says which path ran. Real server, fresh database per test."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from .catalog import dump_catalog
from .conftest import Project
from .test_migrate import POST, POST_WITH_SLUG, make, models
from .test_migrate_pgpath import (
    THREE,
    entries,
    execute,
    history,
    project_on,
    recorded,
    recreate,
    reported,
    slowed,
    state,
    until,
)
from .test_migrate_sqlpath import cli, no_ms

pytestmark = pytest.mark.slow  # all on the server


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITMIG_CACHE_DIR", str(tmp_path / "cache"))


def cold(project: Project, url: str, setup: str = "") -> tuple[str, int, Any]:
    """A cold run's (stdout, exit code, state) on the database made empty, then `setup`
    run in it; the database made empty again after."""
    recreate(url)
    if setup:
        execute(url, setup)
    r, _ = cli(project, "migrate", "--database", url, env_cache=False)
    out = (no_ms(r.stdout), r.returncode, state(url))
    recreate(url)
    return out


def spawn(project: Project, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-X", "importtime", "-m", "gitmig", "migrate",
                             "--database", url], cwd=project.root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# --- two runs at once -------------------------------------------------------------------

@pytest.mark.parametrize("runs", [2, 4])
def test_runs_at_once_apply_each_migration_once(tmp_path: Path, postgres_url: str,
                                                runs: int) -> None:
    """Several warm runs started together on the same empty database: one applies the
    plan, the others wait and find nothing to do; each migration printed and recorded
    once; every exit code 0."""
    project = project_on(tmp_path, postgres_url, THREE)
    cold_out, _, cold_state = cold(project, postgres_url)
    recorded(project, postgres_url)
    procs = [spawn(project, postgres_url) for _ in range(runs)]
    results = [(p.communicate(timeout=120), p.returncode) for p in procs]

    assert [code for _, code in results] == [0] * runs, results
    outs = [no_ms(out) for (out, _), _ in results]
    assert sorted(outs).count(cold_out) == 1, outs
    assert all(o == cold_out or o == "No migrations to apply.\n" for o in outs), outs
    for (_, err), _ in results:
        err = "".join(x + "\n" for x in err.splitlines() if not x.startswith("import time:"))
        assert err in ("", "Waiting for another `gitmig migrate` on this database to "
                           "finish...\n"), err
    assert state(postgres_url) == cold_state
    rows = history(postgres_url)
    assert len(rows) == len({r[:2] for r in rows}) == 3


# --- not quite empty --------------------------------------------------------------------

NOT_EMPTY = {
    "table-in-other-schema": "CREATE SCHEMA other; CREATE TABLE other.thing (id int)",
    "schema-on-search-path": "CREATE SCHEMA blog; "
                             "ALTER DATABASE {db} SET search_path = blog, public",
    "schema-named-like-role": "CREATE SCHEMA postgres",
    "view": "CREATE VIEW v AS SELECT 1 AS one",
    "sequence": "CREATE SEQUENCE s",
    "domain": "CREATE DOMAIN positive AS int CHECK (VALUE > 0)",
    "composite-type": "CREATE TYPE pair AS (a int, b int)",
    "function": "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "foreign-table": "CREATE FOREIGN DATA WRAPPER dummy; CREATE SERVER srv FOREIGN DATA "
                     "WRAPPER dummy; CREATE FOREIGN TABLE ft (id int) SERVER srv",
    "extension": "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "collation": "CREATE COLLATION mine (provider = icu, locale = 'de-DE')",
    "post-in-other-schema": "CREATE SCHEMA other; CREATE TABLE other.post (id int); "
                            "ALTER DATABASE {db} SET search_path = public, other",
    "search-path-setting": "ALTER DATABASE {db} SET search_path = nowhere",
}


@pytest.mark.parametrize("kind", sorted(NOT_EMPTY))
def test_a_database_not_quite_empty_ends_as_a_cold_run(tmp_path: Path, postgres_url: str,
                                                       kind: str) -> None:
    """The entry was recorded from a truly empty database; the database now holds
    something. Whichever path runs, the user sees what a cold run on that database shows,
    and the database ends the same."""
    db = sa.engine.make_url(postgres_url).database
    setup = NOT_EMPTY[kind].format(db=db)
    project = project_on(tmp_path, postgres_url, THREE)
    cold_out, cold_code, cold_state = cold(project, postgres_url, setup)
    recorded(project, postgres_url)
    execute(postgres_url, setup)

    r, _ = cli(project, "migrate", "--database", postgres_url)

    assert (no_ms(r.stdout), r.returncode) == (cold_out, cold_code), r.stderr
    assert state(postgres_url) == cold_state


# --- migrations that cannot be replayed, or changed since ------------------------------

HEAD = '"""By hand."""\nimport sqlalchemy as sa\n\nfrom gitmig import ops\n'
MIDDLE = {
    "runpython": HEAD + '''

def fill(connection):
    connection.execute(sa.text("INSERT INTO post (title) VALUES ('from python')"))


parents = ["0001_initial"]
operations = [ops.RunPython(fill, ops.RunPython.noop)]
''',
    "runsql": HEAD + '''
parents = ["0001_initial"]
operations = [ops.RunSQL("INSERT INTO post (title) VALUES ('from sql')")]
''',
    "non-atomic": HEAD + '''
atomic = False

parents = ["0001_initial"]
operations = [ops.RunSQL("CREATE INDEX ix_title ON post (title)")]
''',
    "project-code": HEAD + '''
from blog import sizes

parents = ["0001_initial"]
operations = [ops.AddColumn("post", sa.Column("code", sa.String(sizes.CODE)))]
''',
    "environment": HEAD + '''
import os

parents = ["0001_initial"]
operations = [ops.AddColumn("post", sa.Column("code", sa.String(
    int(os.environ.get("CODE_LENGTH", "10")))))]
''',
    "enum": HEAD + '''
parents = ["0001_initial"]
operations = [ops.AddColumn("post", sa.Column(
    "mood", sa.Enum("ok", "meh", name="mood"), server_default="ok"))]
''',
}


def with_middle(tmp_path: Path, url: str, middle: str) -> Project:
    """0001 post, 0002 `middle` (by hand), 0003 post's slug."""
    project = project_on(tmp_path, url, [POST])
    project.write("blog/sizes.py", "CODE = 10\n")
    project.write("blog/migrations/0002_middle.py", MIDDLE[middle])
    models(project, POST_WITH_SLUG)
    make(project)
    assert len(project.migrations("blog")) == 3
    return project


@pytest.mark.parametrize("middle", sorted(MIDDLE))
def test_a_migration_not_replayable_hands_over_at_its_place(tmp_path: Path,
                                                            postgres_url: str,
                                                            middle: str) -> None:
    """Each migration printed once, in order; the database as a cold run leaves it."""
    project = with_middle(tmp_path, postgres_url, middle)
    cold_out, cold_code, cold_state = cold(project, postgres_url)
    assert cold_code == 0 and cold_out.count("Applying") == 3
    recorded(project, postgres_url)

    r, _ = cli(project, "migrate", "--database", postgres_url)

    assert (no_ms(r.stdout), r.returncode, r.stderr) == (cold_out, 0, "")
    assert state(postgres_url) == cold_state


@pytest.mark.parametrize("change", ["project-code", "environment", "edited", "added"])
def test_what_changed_since_the_recording_is_not_replayed(tmp_path: Path, postgres_url: str,
                                                          change: str) -> None:
    """After recording: the project code a migration imports, an environment variable it
    reads, the migration itself (same name), or a migration added. The warm run ends as a
    cold run of the project as it is now."""
    project = with_middle(tmp_path, postgres_url,
                          "environment" if change == "environment" else "project-code")
    recorded(project, postgres_url)
    env = dict(os.environ)
    if change == "project-code":
        project.write("blog/sizes.py", "CODE = 77\n")
    elif change == "environment":
        os.environ["CODE_LENGTH"] = "77"
    elif change == "edited":
        path = project.root / "blog/migrations/0001_initial.py"
        path.write_text(path.read_text().replace("length=200", "length=300"))
    else:
        models(project, POST_WITH_SLUG + "    extra: Mapped[int | None]\n")
        make(project)
    try:
        cold_out, _, cold_state = cold(project, postgres_url)
        r, _ = cli(project, "migrate", "--database", postgres_url)
    finally:
        os.environ.clear()
        os.environ.update(env)

    assert (no_ms(r.stdout), r.returncode) == (cold_out, 0), r.stderr
    assert state(postgres_url) == cold_state


# --- tampered entries, an unusable cache -----------------------------------------------

def _steps_renamed(v: dict[str, Any]) -> None:
    v["steps"][0]["migration"] = ["blog", "0009_other", *v["steps"][0]["migration"][2:]]


def _steps_too_many(v: dict[str, Any]) -> None:
    v["steps"] = v["steps"] + v["steps"]


TAMPER = {
    "garbage": lambda raw: b"\x80\x05not a pickle at all",
    "empty-file": lambda raw: b"",
    "list": lambda raw: pickle.dumps([1, 2, 3]),
    "value-a-list": lambda raw: _rewrap(raw, lambda v: [v]),
    "ddl-not-text": lambda raw: _rewrap(raw, lambda v: {**v, "history_ddl": 7}),
    "steps-a-dict": lambda raw: _rewrap(raw, lambda v: {**v, "steps": {"a": 1}}),
    "step-of-another-migration": lambda raw: _rewrap(raw, _mutating(_steps_renamed)),
    "more-steps-than-plan": lambda raw: _rewrap(raw, _mutating(_steps_too_many)),
    "plan-of-another-project": lambda raw: _rewrap(raw, lambda v: {**v, "plan": v["plan"][:1]}),
    "destructive-not-bool": lambda raw: _rewrap(raw, _mutating(
        lambda v: v["steps"][0].__setitem__("destructive", "no"))),
}


def _mutating(change: Any) -> Any:
    def run(v: Any) -> Any:
        change(v)
        return v
    return run


def _rewrap(raw: bytes, change: Any) -> bytes:
    data = pickle.loads(raw)
    data["value"] = change(data["value"])
    return pickle.dumps(data)


@pytest.mark.parametrize("kind", sorted(TAMPER))
def test_a_tampered_entry_is_ignored(tmp_path: Path, postgres_url: str, kind: str) -> None:
    project = project_on(tmp_path, postgres_url, THREE)
    cold_out, _, cold_state = cold(project, postgres_url)
    recorded(project, postgres_url)
    [entry] = entries()
    entry.write_bytes(TAMPER[kind](entry.read_bytes()))

    r, imported = cli(project, "migrate", "--database", postgres_url)

    assert (no_ms(r.stdout), r.returncode, r.stderr) == (cold_out, 0, "")
    assert "sqlalchemy" in imported  # the full path ran
    assert state(postgres_url) == cold_state


def test_a_cache_that_cannot_be_written_costs_only_time(tmp_path: Path, postgres_url: str,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """The cache folder's place is taken by a file: nothing recorded, nothing replayed,
    every run as a cold one, no word about the cache."""
    project = project_on(tmp_path, postgres_url, THREE)
    cold_out, _, cold_state = cold(project, postgres_url)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("mine\n")
    monkeypatch.setenv("GITMIG_CACHE_DIR", str(blocker))
    for _ in range(2):
        recreate(postgres_url)
        r, _ = cli(project, "migrate", "--database", postgres_url)
        assert (no_ms(r.stdout), r.returncode, r.stderr) == (cold_out, 0, "")
        assert state(postgres_url) == cold_state
    assert blocker.read_text() == "mine\n"


# --- the connection killed, Ctrl-C early ------------------------------------------------

def terminate_others(url: str) -> int:
    """pg_terminate_backend on every other session of the database; how many."""
    db = sa.engine.make_url(url).database
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return len(conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{db}' AND pid <> pg_backend_pid()").all())
    finally:
        engine.dispose()


@pytest.mark.parametrize("lines", [1, 3, 5])
def test_the_connection_killed_mid_run(tmp_path: Path, postgres_url: str, lines: int) -> None:
    """pg_terminate_backend on the replaying session after `lines` lines: no traceback;
    the history a prefix of the plan, the schema a cold run's to its last migration;
    every migration reported OK and not named lost is applied; nothing printed twice;
    the next run applies the rest."""
    from .test_migrate_pgpath import expected_catalog

    project, names, entry, slow = slowed(tmp_path, postgres_url)
    recreate(postgres_url)
    entry.write_bytes(slow)
    proc, out = until(project, postgres_url, lines)
    killed = terminate_others(postgres_url)
    rest, err = proc.communicate(timeout=60)
    out += rest

    assert killed >= 1
    assert "Traceback" not in err, err
    applied = [r[1] for r in history(postgres_url)]
    assert applied == names[: len(applied)]
    assert dump_catalog(postgres_url) == expected_catalog(project, applied)
    shown = reported(out)
    assert len(shown) == len(set(shown)) and shown == names[: len(shown)], out
    lost = [n for n in shown if n not in applied]
    if proc.returncode == 0:
        assert shown == applied == names, (out, err)
    else:
        assert all(n in err for n in lost), (lost, err)
    r, _ = cli(project, "migrate", "--database", postgres_url)
    assert r.returncode == 0, r.stderr
    assert [row[1] for row in history(postgres_url)] == names


def test_ctrl_c_before_the_first_line(tmp_path: Path, postgres_url: str) -> None:
    """A Ctrl-C while the first migration replays: exit 130, 'gitmig: aborted', no
    traceback; what is applied is whole and a prefix; the next run applies the rest."""
    from .test_migrate_pgpath import expected_catalog

    project, names, entry, slow = slowed(tmp_path, postgres_url)
    recreate(postgres_url)
    entry.write_bytes(slow)
    proc = spawn(project, postgres_url)
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    try:  # once the history table exists, the first migration is under way
        for _ in range(600):
            if sa.inspect(engine).has_table("gitmig_migrations"):
                break
            time.sleep(0.01)
    finally:
        engine.dispose()
    proc.send_signal(2)
    out, err = proc.communicate(timeout=60)
    err = "".join(x + "\n" for x in err.splitlines() if not x.startswith("import time:"))

    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "gitmig: aborted"
    applied = [r[1] for r in history(postgres_url)]
    assert applied == names[: len(applied)] and reported(out) == applied
    assert dump_catalog(postgres_url) == expected_catalog(project, applied)
    r, _ = cli(project, "migrate", "--database", postgres_url)
    assert r.returncode == 0, r.stderr
    assert [row[1] for row in history(postgres_url)] == names


# --- URLs and settings that change the SQL or how it runs -------------------------------

def _forms(url: str) -> dict[str, str]:
    u = sa.engine.make_url(url)
    db = u.database or ""
    quoted = "".join(f"%{ord(c):02X}" if c.isalpha() else c for c in db)
    base = f"postgresql://postgres@127.0.0.1:{u.port or 5432}"
    return {
        "localhost": f"postgresql://postgres@localhost:{u.port or 5432}/{db}",
        "password": f"postgresql://postgres:s%40cret@127.0.0.1:{u.port or 5432}/{db}",
        "sslmode": f"{base}/{db}?sslmode=disable",
        "psycopg-driver": f"postgresql+psycopg://postgres@127.0.0.1:{u.port or 5432}/{db}",
        "escaped-name": f"{base}/{quoted}",
        "no-port": f"postgresql://postgres@127.0.0.1/{db}",
    }


@pytest.mark.parametrize("form", ["localhost", "password", "sslmode", "psycopg-driver",
                                  "escaped-name", "no-port"])
def test_the_same_database_by_another_url(tmp_path: Path, postgres_url: str,
                                          form: str) -> None:
    """Recorded under one URL, run under another naming the same database: a cold run's
    output and end; and a replay under the second URL once it recorded there."""
    other = _forms(postgres_url)[form]
    project = project_on(tmp_path, postgres_url, THREE)
    cold_out, _, cold_state = cold(project, postgres_url)
    recorded(project, postgres_url)
    for _ in range(3):  # under the other URL: records (if it can), then replays
        r, _ = cli(project, "migrate", "--database", other)
        assert (no_ms(r.stdout), r.returncode, r.stderr) == (cold_out, 0, "")
        assert state(postgres_url) == cold_state
        recreate(postgres_url)


@pytest.mark.parametrize("setting", ['lock_timeout = 5', 'statement_timeout = 60',
                                     'ignore_tables = ["post*"]', 'lock_retries = 2'])
def test_a_setting_added_after_the_recording(tmp_path: Path, postgres_url: str,
                                             setting: str) -> None:
    """A setting that changes how the migrations run (timeouts, retries) or what gitmig
    manages: the entry recorded without it is not replayed; a cold run's output and end."""
    project = project_on(tmp_path, postgres_url, THREE)
    recorded(project, postgres_url)
    config = project.root / "pyproject.toml"
    config.write_text(config.read_text().replace("[tool.gitmig]\n",
                                                 f"[tool.gitmig]\n{setting}\n"))
    cold_out, _, cold_state = cold(project, postgres_url)

    r, imported = cli(project, "migrate", "--database", postgres_url)

    assert (no_ms(r.stdout), r.returncode, r.stderr) == (cold_out, 0, "")
    assert state(postgres_url) == cold_state
    if "timeout" in setting:
        assert "sqlalchemy" in imported  # not replayed without the timeout


# --- the reader of the output goes away ----------------------------------------------

@pytest.mark.parametrize("cache", [True, False], ids=["warm", "cold"])
def test_output_piped_into_head(tmp_path: Path, postgres_url: str, cache: bool) -> None:
    """`gitmig migrate | head -n 1`: the line the user saw names a migration that is
    applied, whatever becomes of the rest; the history stays a prefix of the plan."""
    from .test_migrate_pgpath import expected_catalog

    project, names, entry, slow = slowed(tmp_path, postgres_url)
    recreate(postgres_url)
    entry.write_bytes(slow)
    env = dict(os.environ, **({} if cache else {"GITMIG_NO_CACHE": "1"}))
    r = subprocess.run(f"{sys.executable} -m gitmig migrate --database {postgres_url}"
                       " | head -n 1", shell=True, cwd=project.root, capture_output=True,
                       text=True, env=env, timeout=120)
    seen = reported(r.stdout)
    applied = [row[1] for row in history(postgres_url)]

    assert len(seen) == 1, (r.stdout, r.stderr)
    assert seen[0] in applied, (r.stdout, r.stderr, applied)
    assert applied == names[: len(applied)]
    assert dump_catalog(postgres_url) == expected_catalog(project, applied)


def press_ctrl_c(proc: subprocess.Popen[str], out: str, presses: int,
                 url: str) -> tuple[str, list[str]]:
    """Ctrl-C pressed `presses` times; the run must end as interrupted (exit 130,
    'gitmig: aborted' last, no traceback). (All it printed, the migrations the history
    now holds.)"""
    for _ in range(presses):
        proc.send_signal(2)
        time.sleep(0.02)
    rest, err = proc.communicate(timeout=60)
    out += rest
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "gitmig: aborted"
    return out, [r[1] for r in history(url)]


@pytest.mark.parametrize(("lines", "presses"), [(1, 1), (4, 1), (6, 1), (1, 2), (3, 3)])
def test_ctrl_c_after_some_lines(tmp_path: Path, postgres_url: str, lines: int,
                                 presses: int) -> None:
    """Ctrl-C (once, or pressed again and again) after `lines` lines: exit 130,
    'gitmig: aborted', no traceback; exactly the migrations reported are applied, each
    whole; the next run applies the rest and prints only those."""
    from .test_migrate_pgpath import expected_catalog

    project, names, entry, slow = slowed(tmp_path, postgres_url)
    recreate(postgres_url)
    entry.write_bytes(slow)
    proc, out = until(project, postgres_url, lines)
    out, applied = press_ctrl_c(proc, out, presses, postgres_url)

    assert reported(out) == applied == names[: len(applied)]
    assert len(applied) >= lines
    assert dump_catalog(postgres_url) == expected_catalog(project, applied)
    r, _ = cli(project, "migrate", "--database", postgres_url)
    assert r.returncode == 0, r.stderr
    assert reported(r.stdout) == names[len(applied):]
    assert [row[1] for row in history(postgres_url)] == names


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_during_the_last_migration(tmp_path: Path, postgres_url: str,
                                          presses: int) -> None:
    """Ctrl-C while the last migration runs (it sleeps a second; the one before sleeps long
    enough that its batch commits, so nothing awaits a commit): the migration is applied
    and reported, and the run still ends as interrupted (exit 130, 'gitmig: aborted').
    Before, such a Ctrl-C was lost there and the run ended with exit 0."""
    from .test_migrate_pgpath import edit_entry, expected_catalog

    project, names, entry, slow = slowed(tmp_path, postgres_url)
    recreate(postgres_url)
    entry.write_bytes(slow)
    edit_entry(lambda v: [v["steps"][-2]["statements"].append("SELECT pg_sleep(0.6)"),
                          v["steps"][-1]["statements"].append("SELECT pg_sleep(1)")])
    proc, out = until(project, postgres_url, len(names) - 1)
    time.sleep(0.3)  # the last migration's sleep is under way
    out, applied = press_ctrl_c(proc, out, presses, postgres_url)

    assert reported(out) == applied == names
    assert dump_catalog(postgres_url) == expected_catalog(project, applied)


def test_sigkill_before_the_first_line(tmp_path: Path, postgres_url: str) -> None:
    """Killed once the history table exists, before any line: a prefix applied (most
    likely nothing), the next run applies the rest and prints only those, exit 0."""
    from .test_migrate_pgpath import expected_catalog

    project, names, entry, slow = slowed(tmp_path, postgres_url)
    recreate(postgres_url)
    entry.write_bytes(slow)
    proc = spawn(project, postgres_url)
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    try:
        for _ in range(600):
            if sa.inspect(engine).has_table("gitmig_migrations"):
                break
            time.sleep(0.01)
    finally:
        engine.dispose()
    proc.kill()
    out, _ = proc.communicate(timeout=60)

    applied = [r[1] for r in history(postgres_url)]
    assert applied == names[: len(applied)]
    assert reported(out) == names[: len(reported(out))]
    assert dump_catalog(postgres_url) == expected_catalog(project, applied)
    r, _ = cli(project, "migrate", "--database", postgres_url)
    assert (r.returncode, r.stderr) == (0, "")
    assert reported(r.stdout) == names[len(applied):]
    assert [row[1] for row in history(postgres_url)] == names
