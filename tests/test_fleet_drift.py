"""`gitmig drift --fleet`, and the drift column of `showmigrations --fleet --drift` and
`status --fleet --drift`: SQLite files here (fast); PostgreSQL databases and tenant
schemas at the end (slow)."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import Project, assert_refused
from .fleetkit import fleet_project


def files(tmp_path: Path, count: int) -> list[str]:
    return [f"sqlite:///{tmp_path / f'tenant{i}.db'}" for i in range(count)]


def migrated(tmp_path: Path, urls: list[str], fleet: str = "") -> Project:
    listed = ", ".join(json.dumps(u) for u in urls)
    p = fleet_project(tmp_path / "proj", fleet or f"[tool.gitmig.fleets.tenants]\n"
                      f"databases = [{listed}]\n")
    r = p.gitmig("migrate", "--fleet", "tenants")
    assert r.exit_code == 0, r.output
    return p


def fresh_cache() -> dict[str, str]:
    """A cache folder of its own: the scratch databases counted are this test's."""
    return {"GITMIG_CACHE_DIR": tempfile.mkdtemp(prefix="fleetdrift-cache-")}


def test_only_the_drifted_file_is_reported_and_one_scratch_database_serves_all(tmp_path):
    urls = files(tmp_path, 3)
    p = migrated(tmp_path, urls)
    with sqlite3.connect(urls[1][len("sqlite:///"):]) as conn:
        conn.execute("ALTER TABLE post ADD COLUMN extra INTEGER")  # by hand
    env = fresh_cache()
    r = p.gitmig("drift", "--fleet", "tenants", "--jobs", "2", env=env)
    assert r.exit_code == 1, r.output
    assert "Fleet tenants: 3 targets, 1 drifted, 0 unreachable; 1 scratch database run" \
        in r.stdout
    assert f"{urls[1]}:\n" in r.stdout and "  + Add column post.extra INTEGER" in r.stdout
    assert all(f"{u}:" not in r.stdout for u in urls if u != urls[1])
    assert r.stderr.startswith("gitmig: 1 drifted of 3 targets of fleet tenants")
    again = p.gitmig("drift", "--fleet", "tenants", "--json", env=env)
    assert again.exit_code == 1
    data = json.loads(again.stdout)
    assert data["scratch_databases_built"] == 0  # the catalog came from the cache
    assert [t["drifted"] for t in data["targets"]] == [False, True, False]
    assert data["targets"][1]["drift"][0]["description"] == "Add column post.extra INTEGER"
    uncached = p.gitmig("drift", "--fleet", "tenants", "--json",
                        env={"GITMIG_NO_CACHE": "1"})
    assert json.loads(uncached.stdout)["scratch_databases_built"] == 1
    with sqlite3.connect(urls[1][len("sqlite:///"):]) as conn:
        conn.execute("ALTER TABLE post DROP COLUMN extra")  # the fix
    ok = p.gitmig("drift", "--fleet", "tenants", env=env)
    assert ok.exit_code == 0, ok.output
    assert "No drift: every target is what its applied migrations make." in ok.stdout


def test_unreachable_target_is_reported_without_its_password(tmp_path):
    urls = files(tmp_path, 2)
    dead = "postgresql://tenant:s3cr3tpw@127.0.0.1:1/gone"
    p = migrated(tmp_path, urls)
    p.write("pyproject.toml", p.read("pyproject.toml").replace(
        "databases = [", f"databases = [{json.dumps(dead)}, "))
    behind = f"sqlite:///{tmp_path / 'behind.db'}"  # at 0002: its own expected catalog
    assert p.gitmig("migrate", "blog", "0002", "--database", behind).exit_code == 0
    p.write("pyproject.toml", p.read("pyproject.toml").replace(
        "databases = [", f"databases = [{json.dumps(behind)}, "))
    r = p.gitmig("drift", "--fleet", "tenants", "--shard", "1/1", env={"GITMIG_NO_CACHE": "1"})
    assert r.exit_code == 1, r.output
    assert "4 targets, 0 drifted, 1 unreachable; 2 scratch databases run" in r.stdout
    assert "postgresql://tenant:***@127.0.0.1:1/gone: unreachable: cannot connect" in r.stdout
    assert "s3cr3tpw" not in r.output
    assert "1 could not be read" in r.stderr


def test_drift_fleet_refuses_what_does_not_fit(tmp_path):
    p = migrated(tmp_path, files(tmp_path, 1))
    for args, said in [(["--fleet", "nope"], "unknown fleet 'nope'"),
                       (["--fleet", "tenants", "--shard", "0/2"], "shards are numbered 1 to N"),
                       (["--fleet", "tenants", "--database", "sqlite:///x.db"],
                        "it takes no --database"),
                       (["--jobs", "2"], "they need --fleet NAME")]:
        assert said in assert_refused(p.gitmig("drift", *args))


def test_showmigrations_and_status_show_drift_only_when_asked(tmp_path):
    urls = files(tmp_path, 3)
    p = migrated(tmp_path, urls)
    with sqlite3.connect(urls[2][len("sqlite:///"):]) as conn:
        conn.execute("CREATE INDEX ix_by_hand ON post (c2)")
    plain = p.gitmig("showmigrations", "--fleet", "tenants")
    assert plain.exit_code == 0 and "drift" not in plain.stdout.splitlines()[0]
    assert json.loads(p.gitmig("showmigrations", "--fleet", "tenants", "--json").stdout
                      )["targets"][2]["drift"] is None  # not read unless asked
    shown = p.gitmig("showmigrations", "--fleet", "tenants", "--drift")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0].split("\t") == ["target", "state", "drift", "blog"]
    assert lines[1].split("\t")[1:] == ["up to date", "none", "0003_post_add_c3"]
    assert lines[3].split("\t")[1:] == ["drifted", "1 change", "0003_post_add_c3"]
    assert "`gitmig drift --fleet tenants` lists each drifted target's changes." in shown.stdout
    data = json.loads(p.gitmig("showmigrations", "--fleet", "tenants", "--drift",
                               "--json").stdout)
    assert [t["drift"] for t in data["targets"]] == [
        [], [], ["+ Add index ix_by_hand on post (c2)"]]
    status = p.gitmig("status", "--fleet", "tenants", "--drift")
    assert status.exit_code == 1, status.output
    assert "  drifted: 1" in status.stdout
    assert ("  1 target drifted from their applied migrations; `gitmig drift --fleet "
            "tenants` lists the changes") in status.stdout
    assert f"  drifted      {urls[2]}" in status.stdout
    summary = json.loads(p.gitmig("status", "--fleet", "tenants", "--drift", "--json").stdout)
    assert summary["drifted"] == [urls[2]] and summary["states"] == {
        "up to date": 2, "drifted": 1}
    assert p.gitmig("status", "--fleet", "tenants").exit_code == 0  # drift not read
    assert "it needs --fleet NAME" in assert_refused(p.gitmig("showmigrations", "--drift"))


@pytest.mark.slow
def test_postgresql_tenants_and_databases_of_one_server_share_one_scratch_database(
        tmp_path, postgres_url):
    from .catalog import fresh_database
    from .conftest import POSTGRES_URL

    with fresh_database(POSTGRES_URL) as other:
        fleet = (f"[tool.gitmig.fleets.tenants]\nurl = {json.dumps(postgres_url)}\n"
                 f"schemas = [\"t0\", \"t1\", \"t2\"]\ndatabases = [{json.dumps(other)}]\n")
        p = migrated(tmp_path, [], fleet)
        engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE t1.post ADD COLUMN extra integer"))  # by hand
        engine.dispose()
        r = p.gitmig("drift", "--fleet", "tenants", "--json", "--jobs", "2", env=fresh_cache())
        assert r.exit_code == 1, r.output
        data = json.loads(r.stdout)
        assert data["scratch_databases_built"] == 1  # 4 targets, one server, one scratch
        by_target = {(t["schema"] or "db"): t for t in data["targets"]}
        assert {k: t["drifted"] for k, t in by_target.items()} == {
            "t0": False, "t1": True, "t2": False, "db": False}
        assert [d["description"] for d in by_target["t1"]["drift"]] == [
            "Add column post.extra integer"]
        # the other tenants' schemas are neither drift nor unmanaged tables of a tenant
        assert all(t["unmanaged_tables"] == [] for t in data["targets"])
        text = p.gitmig("drift", "--fleet", "tenants")
        assert text.exit_code == 1
        assert f"{postgres_url}#t1:\n" in text.stdout
        assert "#t0:" not in text.stdout and "#t2:" not in text.stdout
