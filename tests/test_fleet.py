"""Fleets on SQLite files, as a user drives them: `[tool.gitmig.fleets.NAME]`, `migrate
--fleet` (in parallel, past a failure, canaries, shards, plans), and the fleet views
(showmigrations, status, `migrate --check`, sqlmigrate). The same on real servers, killed
and raced: tests/test_fleet_servers.py."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from gitmig.config import load_config
from gitmig.fleet import shard, spec

from .conftest import Project, assert_refused
from .fleetkit import assert_consistent, fleet_project, state


def files(tmp_path: Path, count: int) -> list[str]:
    return [f"sqlite:///{tmp_path / f'tenant{i}.db'}" for i in range(count)]


def project_of(tmp_path: Path, urls: list[str], migrations: int = 3, extra: str = "") -> Project:
    listed = ", ".join(json.dumps(u) for u in urls)
    return fleet_project(tmp_path / "proj", f"[tool.gitmig.fleets.tenants]\n"
                         f"databases = [{listed}]\n{extra}", migrations)


def test_a_fleet_of_files_is_migrated_in_parallel_and_a_rerun_does_nothing(tmp_path):
    urls = files(tmp_path, 5)
    p = project_of(tmp_path, urls)
    r = p.gitmig("migrate", "--fleet", "tenants", "--jobs", "2")
    assert r.exit_code == 0, r.output
    assert "Fleet tenants: 5 targets" in r.stdout
    assert r.stdout.count(": 3 applied") == 5
    assert "5 migrated (15 migrations applied), 0 up to date, 0 failed." in r.stdout
    for url in urls:
        assert_consistent(url, None, 3, complete=True)
    again = p.gitmig("migrate", "--fleet", "tenants", "--jobs", "2")
    assert again.exit_code == 0, again.output
    assert "0 migrated (0 migrations applied), 5 up to date, 0 failed." in again.stdout


def test_a_failing_target_is_reported_the_others_migrate_and_a_rerun_completes(tmp_path):
    urls = files(tmp_path, 4)
    broken = Path(urls[2][len("sqlite:///"):])
    with sqlite3.connect(broken) as conn:
        conn.execute("CREATE TABLE post (id INTEGER)")  # made by hand: 0001 cannot create it
    p = project_of(tmp_path, urls)
    r = p.gitmig("migrate", "--fleet", "tenants", "--jobs", "2")
    assert r.exit_code == 1, r.output
    assert "3 migrated (9 migrations applied), 0 up to date, 1 failed." in r.stdout
    assert "FAILED" in r.stdout and "table post already exists" in r.stdout
    assert r.stderr.startswith("gitmig: 1 of 4 targets of fleet tenants failed")
    assert "hint: fix what each failed target reports" in r.stderr
    assert "Traceback" not in r.output
    for i, url in enumerate(urls):
        if i != 2:
            assert_consistent(url, None, 3, complete=True)
    shown = p.gitmig("showmigrations", "--fleet", "tenants")
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.stdout.splitlines() if line.startswith(urls[2]))
    assert row.split("\t")[1:] == ["failed", "- (+3)"]
    assert "the last fleet run failed: " in shown.stdout
    with sqlite3.connect(broken) as conn:
        conn.execute("DROP TABLE post")  # the fix
    again = p.gitmig("migrate", "--fleet", "tenants")
    assert again.exit_code == 0, again.output
    assert "1 migrated (3 migrations applied), 3 up to date, 0 failed." in again.stdout
    assert_consistent(urls[2], None, 3, complete=True)
    shown = p.gitmig("showmigrations", "--fleet", "tenants", "--json")
    data = json.loads(shown.stdout)
    assert [t["state"] for t in data["targets"]] == ["up to date"] * 4
    assert data["targets"][2]["apps"]["blog"] == {
        "latest": "0003_post_add_c3", "pending": 0, "interrupted": None}


def test_a_failed_canary_stops_the_run_before_the_rest(tmp_path):
    urls = files(tmp_path, 4)
    with sqlite3.connect(urls[0][len("sqlite:///"):]) as conn:
        conn.execute("CREATE TABLE post (id INTEGER)")
    p = project_of(tmp_path, urls)
    r = p.gitmig("migrate", "--fleet", "tenants", "--canary", "1")
    assert r.exit_code == 1, r.output
    assert "The canaries failed: 3 other targets were not touched." in r.stdout
    assert all(state(u) == ([], []) for u in urls[1:])
    ok = project_of(tmp_path, urls[1:])
    r = ok.gitmig("migrate", "--fleet", "tenants", "--canary", "2", "--jobs", "2")
    assert r.exit_code == 0, r.output
    assert all(assert_consistent(u, None, 3, complete=True) for u in urls[1:])


def test_plan_and_check_change_nothing_and_say_what_is_pending(tmp_path):
    urls = files(tmp_path, 3)
    p = project_of(tmp_path, urls)
    p.gitmig("migrate", "--fleet", "tenants")
    p.write("blog/migrations/0004_post_add_c4.py", (
        p.read("blog/migrations/0003_post_add_c3.py")
        .replace('"c3"', '"c4"').replace("'0002_post_add_c2'", "'0003_post_add_c3'")))
    plan = p.gitmig("migrate", "--fleet", "tenants", "--plan")
    assert plan.exit_code == 0, plan.output
    assert plan.stdout.count(": 1 to run: blog.0004_post_add_c4") == 3
    check = p.gitmig("migrate", "--fleet", "tenants", "--check")
    assert check.exit_code == 1, check.output
    assert check.stdout.count(": behind: 1 migration to apply") == 3
    assert "gitmig: 3 of 3 targets of fleet tenants are not up to date" in check.stderr
    status = p.gitmig("status", "--fleet", "tenants")
    assert status.exit_code == 1
    assert "Fleet tenants: 3 targets (sqlite)" in status.stdout
    assert "  behind: 3" in status.stdout
    assert all(len(state(u)[0]) == 3 for u in urls)  # nothing was applied
    assert p.gitmig("migrate", "--fleet", "tenants", "-j", "3").exit_code == 0
    check = p.gitmig("migrate", "--fleet", "tenants", "--check")
    assert check.exit_code == 0, check.output
    assert "Every target of fleet tenants (3) is up to date." in check.stdout
    status = p.gitmig("status", "--fleet", "tenants", "--json")
    assert status.exit_code == 0
    assert json.loads(status.stdout)["states"] == {"up to date": 3}


def test_shards_split_the_fleet_stably_and_a_shard_migrates_only_its_slice(tmp_path):
    urls = files(tmp_path, 24)  # by their (random) paths' hashes: a shard is empty 1 in 5000
    p = project_of(tmp_path, urls)
    targets = spec.targets(load_config(p.root), "tenants")
    slices = [shard.select(targets, i, 3) for i in (1, 2, 3)]
    assert sorted(t.url for s in slices for t in s) == sorted(urls)  # each once
    assert all(slices)
    fewer = shard.select(targets[:-1], 2, 3)  # a tenant leaves: no other moves
    assert fewer == [t for t in slices[1] if t != targets[-1]]
    r = p.gitmig("migrate", "--fleet", "tenants", "--shard", "2/3")
    assert r.exit_code == 0, r.output
    mine = {t.url for t in slices[1]}
    assert f"Fleet tenants: {len(mine)} target" in r.stdout
    for url in urls:
        assert len(state(url)[0]) == (3 if url in mine else 0)


def test_sqlmigrate_prints_the_sql_once_per_kind_of_database(tmp_path):
    urls = files(tmp_path, 3) + ["postgresql://app:s3cret-pw@127.0.0.1:1/a",
                                 "postgresql://app:s3cret-pw@127.0.0.1:1/b"]
    p = project_of(tmp_path, urls)
    r = p.gitmig("sqlmigrate", "blog", "0002", "--fleet", "tenants")
    assert r.exit_code == 0, r.output
    assert "-- sqlite: 3 targets of fleet tenants" in r.stdout
    assert "-- postgresql: 2 targets of fleet tenants" in r.stdout
    assert r.stdout.count("ALTER TABLE post ADD COLUMN c2 INTEGER") == 2
    assert "s3cret-pw" not in r.output


def test_an_unreachable_target_is_reported_without_its_password(tmp_path, monkeypatch):
    monkeypatch.setenv("TENANT_PASSWORD", "s3cret-pw")
    urls = files(tmp_path, 2)
    p = fleet_project(tmp_path / "proj", f"""
        [tool.gitmig.fleets.tenants]
        databases = ["{urls[0]}", "postgresql://app:${{TENANT_PASSWORD}}@127.0.0.1:1/x"]
        databases_file = "more-tenants.txt"
        """)
    p.write("more-tenants.txt", f"# one URL a line\n\n{urls[1]}\n")
    r = p.gitmig("migrate", "--fleet", "tenants")
    assert r.exit_code == 1, r.output
    assert "s3cret-pw" not in r.output
    assert "postgresql://app:***@127.0.0.1:1/x: cannot connect to the database" in r.stdout
    assert "2 migrated (6 migrations applied), 0 up to date, 1 failed." in r.stdout
    shown = p.gitmig("showmigrations", "--fleet", "tenants", "--json")
    assert "s3cret-pw" not in shown.output
    states = [t["state"] for t in json.loads(shown.stdout)["targets"]]
    assert states == ["up to date", "unreachable", "up to date"]


def test_a_schema_fleet_needs_a_database_with_schemas(tmp_path):
    p = fleet_project(tmp_path / "proj", f"""
        [tool.gitmig.fleets.tenants]
        url = "sqlite:///{tmp_path / 'one.db'}"
        schemas = ["a"]
        """)
    r = p.gitmig("migrate", "--fleet", "tenants")
    assert r.exit_code == 1, r.output
    assert "SQLite has no schemas inside a database" in r.stdout


@pytest.mark.parametrize("args, fleets, expected", [
    (["--fleet", "nope"], "", "unknown fleet 'nope' (configured fleets: tenants)"),
    (["--fleet", "tenants", "--shard", "0/4"], "", "--shard 0/4: shards are numbered 1 to N"),
    (["--fleet", "tenants", "--shard", "two"], "", "--shard 'two' is not I/N"),
    (["--fleet", "tenants", "--jobs", "0"], "", "--jobs 0: run at least one target"),
    (["--jobs", "2"], "", "--jobs, --canary and --shard spread a fleet's targets"),
    (["--fleet", "tenants", "--database", "sqlite:///x.db"], "", "--fleet and --database"),
    (["--fleet", "env"], '[tool.gitmig.fleets.env]\ndatabases = ["sqlite:///$NO_SUCH_VAR_X"]',
     "uses $NO_SUCH_VAR_X, which is not set in the environment"),
    (["--fleet", "bad"], "[tool.gitmig.fleets.bad]\ndatabase = []", "unknown key 'database'"),
    (["--fleet", "bad"], "[tool.gitmig.fleets.bad]\nschemas = ['a']", "schemas needs url"),
    (["--fleet", "bad"], "[tool.gitmig.fleets.bad]\nquery = 'SELECT 1'", "query needs directory"),
    (["--fleet", "bad"], "[tool.gitmig.fleets.bad]\ndatabases_file = 'missing.txt'",
     "cannot read the databases_file"),
    (["--fleet", "bad"], "[tool.gitmig.fleets.bad]\ndatabases = []", "fleet 'bad' has no targets"),
])
def test_bad_fleet_input_is_refused_before_any_target_is_touched(tmp_path, args, fleets,
                                                                   expected):
    urls = files(tmp_path, 2)
    p = project_of(tmp_path, urls, extra=fleets)
    before = p.snapshot()
    r = p.gitmig("migrate", *args)
    line = assert_refused(r, before, p.snapshot())
    assert expected in line
    assert all(state(u) == ([], []) for u in urls)


def test_a_query_on_a_directory_database_lists_the_targets(tmp_path):
    urls = files(tmp_path, 3)
    directory = tmp_path / "directory.db"
    with sqlite3.connect(directory) as conn:
        conn.execute("CREATE TABLE tenant (url TEXT, active INTEGER)")
        conn.executemany("INSERT INTO tenant VALUES (?, ?)",
                         [(urls[0], 1), (urls[1], 0), (urls[2], 1)])
    p = fleet_project(tmp_path / "proj", f"""
        [tool.gitmig.fleets.active]
        directory = "sqlite:///{directory}"
        query = "SELECT url FROM tenant WHERE active = 1 ORDER BY url"
        """)
    r = p.gitmig("migrate", "--fleet", "active")
    assert r.exit_code == 0, r.output
    assert [len(state(u)[0]) for u in urls] == [3, 0, 3]


def test_on_a_terminal_the_run_shows_a_live_display_and_the_same_outcome(tmp_path):
    from gitmig import console

    urls = files(tmp_path, 3)
    p = project_of(tmp_path, urls)
    console.out.cache_clear()  # rich reads TTY_COMPATIBLE when its console is made
    try:
        r = p.gitmig("migrate", "--fleet", "tenants", "--jobs", "2",
                     env={"TTY_COMPATIBLE": "1", "COLUMNS": "200"})
    finally:
        console.out.cache_clear()
    assert r.exit_code == 0, r.output
    assert "Fleet tenants: " in r.stdout and "done," in r.stdout  # the live head line
    for url in urls:
        assert f"{url}: 3 applied" in r.stdout
    assert "3 migrated (9 migrations applied), 0 up to date, 0 failed." in r.stdout


def test_an_interrupted_target_is_shown_and_refused_while_the_others_migrate(tmp_path):
    urls = files(tmp_path, 3)
    p = project_of(tmp_path, urls, migrations=2)
    assert p.gitmig("migrate", "--fleet", "tenants").exit_code == 0
    with sqlite3.connect(urls[1][len("sqlite:///"):]) as conn:  # what a MariaDB run killed
        conn.execute("UPDATE gitmig_migrations SET progress = 'apply 0/1' "  # halfway leaves
                     "WHERE name = '0002_post_add_c2'")
    shown = p.gitmig("showmigrations", "--fleet", "tenants", "--shard", "1/1")
    row = next(line for line in shown.stdout.splitlines() if line.startswith(urls[1]))
    assert row.split("\t")[1:] == ["interrupted", "0001_initial (+1) INTERRUPTED 0002_post_add_c2"]
    r = p.gitmig("migrate", "--fleet", "tenants")
    assert r.exit_code == 1, r.output
    assert f"{urls[1]}: blog.0002_post_add_c2 was interrupted while being applied" in r.stdout
    assert "0 migrated (0 migrations applied), 2 up to date, 1 failed." in r.stdout
