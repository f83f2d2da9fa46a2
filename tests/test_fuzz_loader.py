"""Malformed migration files and configurations, generated: only gitmig's own error escapes.

Whatever the text of a migration file or of [tool.gitmig], reading it (the loader, the
graph, the configuration) and replaying the migrations either works or raises
GitmigError, which the CLI turns into one line; never any other exception. Example
counts are fixed here so the time these take stays bounded.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitmig.config import load_config
from gitmig.errors import GitmigError
from gitmig.migrations.loader import load_graph, parse_migration
from gitmig.migrations.replay import Replayer

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
SLOW_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

VALID = '''"""Create table author; Create table post"""
import sqlalchemy as sa

from gitmig import ops


def fill(connection):
    connection.execute(sa.text("INSERT INTO author (id, name) VALUES (1, 'a')"))


parents = ["0001_initial"]
operations = [
    ops.CreateTable(
        "author",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
    ),
    ops.AddColumn("post", sa.Column("slug", sa.String(length=50), nullable=True)),
    ops.AddConstraint("post", sa.UniqueConstraint("slug", name="uq_post_slug")),
    ops.CreateIndex("ix_author_name", "author", ["name"]),
    ops.AlterColumn("post", "title", type_=sa.String(length=300)),
    ops.RenameColumn("post", "body", "content"),
    ops.RunSQL("UPDATE post SET slug = NULL", reverse_sql="SELECT 1"),
    ops.RunPython(fill, ops.RunPython.noop),
]
'''

INITIAL = '''import sqlalchemy as sa

from gitmig import ops

parents = []
operations = [
    ops.CreateTable(
        "post",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
    ),
]
'''

PYPROJECT = ('[tool.gitmig]\ndatabase = "sqlite:///db.sqlite3"\n\n'
             '[tool.gitmig.apps]\nblog = "blog.models"\n')


def only_gitmig_errors(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except GitmigError as exc:
        assert exc.render().strip(), "an error with nothing to say"
        assert "\n" not in exc.render().strip() or exc.path, exc.render()
        return None


# -- migration files ------------------------------------------------------------------------


@FUZZ
@given(text=st.text())
def test_random_text_as_a_migration_file(text: str) -> None:
    only_gitmig_errors(parse_migration, "blog", "0002_x", text, "blog/migrations/0002_x.py")


@FUZZ
@given(data=st.binary())
def test_random_bytes_as_a_migration_file(data: bytes) -> None:
    only_gitmig_errors(parse_migration, "blog", "0002_x", data, "blog/migrations/0002_x.py")


@st.composite
def mutated(draw: st.DrawFn, source: str = VALID) -> str:
    """A valid file with lines and characters deleted, duplicated or replaced."""
    text = source
    for _ in range(draw(st.integers(1, 6))):
        lines = text.splitlines(keepends=True)
        kind = draw(st.sampled_from(["del-line", "dup-line", "del-char", "dup-char", "char"]))
        if kind in ("del-line", "dup-line") and lines:
            i = draw(st.integers(0, len(lines) - 1))
            lines[i:i + 1] = [] if kind == "del-line" else [lines[i], lines[i]]
            text = "".join(lines)
        elif text:
            i = draw(st.integers(0, len(text) - 1))
            if kind == "del-char":
                text = text[:i] + text[i + 1:]
            elif kind == "dup-char":
                text = text[:i] + text[i] + text[i:]
            else:
                text = text[:i] + draw(st.sampled_from(list("()[]{},.:=\"'#\\ \n\t0_a"))) + text[i:]
    return text


def project_with(folder: Path, migration: str, pyproject: str = PYPROJECT) -> Path:
    (folder / "blog" / "migrations").mkdir(parents=True)
    (folder / "blog" / "__init__.py").write_text("")
    (folder / "blog" / "models.py").write_text("")
    (folder / "blog" / "migrations" / "0001_initial.py").write_text(INITIAL)
    (folder / "blog" / "migrations" / "0002_more.py").write_text(migration)
    (folder / "pyproject.toml").write_text(pyproject)
    return folder / "pyproject.toml"


def load_and_replay(pyproject: Path) -> None:
    config = load_config(pyproject)
    graph = load_graph(config)
    Replayer(graph).state()


@SLOW_FUZZ
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning",
                            "ignore::sqlalchemy.exc.SAWarning")
@given(text=mutated())
def test_mutations_of_a_valid_migration_are_read_and_replayed_or_refused(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pyproject = project_with(Path(tmp), text)
        only_gitmig_errors(load_and_replay, pyproject)


def test_the_unmutated_file_is_valid() -> None:
    """The mutations start from a migration that loads and replays."""
    with tempfile.TemporaryDirectory() as tmp:
        load_and_replay(project_with(Path(tmp), VALID))


# -- [tool.gitmig] ----------------------------------------------------------------------------

# TOML basic strings take any character but quotes, backslashes and most control characters
# raw; JSON escapes those the same way (\" \\ \n \uXXXX), except DEL and surrogates.
TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x7f"),
               max_size=20)
KEYS = st.one_of(st.sampled_from(["database", "apps", "pythonpath", "models", "migrations",
                                  "blog", "shop", "tool", "gitmig"]), TEXT)
SCALARS = st.one_of(TEXT, st.integers(-2, 2**40), st.booleans(),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(["blog.models", "blog/migrations", "..", "/", "\x00",
                                     "sqlite:///db.sqlite3", "blog..models", "src", ""]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)), max_leaves=12)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}"
                           for k, v in value.items()) + "}"


def toml_section(section: dict[str, Any]) -> str:
    lines = ["[tool.gitmig]"]
    lines += [f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in section.items()]
    return "\n".join(lines) + "\n"


PATHS = st.one_of(
    TEXT,
    st.sampled_from(["blog/migrations", "migrations", "..", "../..", "/", "/etc", "~", ".",
                     "blog/models.py", "pyproject.toml", "src", ""]),
    st.builds(lambda a, b: f"{a}\x00{b}", TEXT, TEXT),
)
MODULES = st.one_of(st.sampled_from(["blog.models", "blog", "blog..models", ".blog", "os",
                                     "blog.models.", "sys", "gitmig.ops"]), TEXT)
LABELS = st.one_of(st.sampled_from(["blog", "shop"]), st.sampled_from(["my-app", "1x", ""]),
                   TEXT)
APPS = st.dictionaries(
    LABELS,
    st.one_of(  # mostly well-formed, so that what comes after the first check is reached
        st.fixed_dictionaries({"models": MODULES}, optional={"migrations": PATHS}),
        st.fixed_dictionaries({"models": MODULES}, optional={"migrations": PATHS}),
        MODULES,
        st.fixed_dictionaries({}, optional={"models": VALUES, "migrations": VALUES}),
        VALUES,
    ),
    min_size=1,
    max_size=3,
)
URLS = st.sampled_from([
    "sqlite:///db.sqlite3", "sqlite://", "sqlite:///:memory:", "sqlite:///a\x00b", "sqlite:////",
    "nosuchdb://x", "postgresql://u:p@localhost:1/x?sslmode=nonsense", "://", ""])
# Each key is mostly well-formed, so that the checks after the first one are reached too.
SECTIONS = st.fixed_dictionaries(
    {"apps": st.one_of(APPS, APPS, APPS, VALUES)},
    optional={
        "database": st.one_of(URLS, URLS, TEXT, VALUES),
        "pythonpath": st.one_of(st.lists(PATHS, max_size=3), st.lists(PATHS, max_size=3),
                                VALUES),
        "lockfile": st.one_of(st.booleans(), VALUES),
        "extra": VALUES,
    },
)


def read_everything(pyproject: Path) -> None:
    """What every command does first: the configuration, the graph, the database URL."""
    from gitmig.db.connection import database_missing, display_url

    config = load_config(pyproject)
    load_graph(config)
    url = config.database_url()
    display_url(url)
    database_missing(url)


def check_section(section: dict[str, Any]) -> None:
    import tomllib

    from gitmig.cli import run

    text = toml_section(section)
    assert tomllib.loads(text)["tool"]["gitmig"] == section  # the test writes valid TOML
    with tempfile.TemporaryDirectory() as tmp:
        pyproject = project_with(Path(tmp), VALID.replace('["0001_initial"]', "[]"), text)
        only_gitmig_errors(read_everything, pyproject)
        # And through the CLI, with a command that needs no database.
        code = run(["--config", str(pyproject), "sqlmigrate", "blog", "0001", "--dialect",
                    "sqlite"])
        assert code in (0, 2)


@pytest.mark.slow
@FUZZ
@given(section=SECTIONS)
def test_random_shapes_of_the_configuration(section: dict[str, Any]) -> None:
    check_section(section)


GOOD = {
    "database": "sqlite:///db.sqlite3",
    "pythonpath": ["."],
    "apps": {"blog": {"models": "blog.models", "migrations": "blog/migrations"}},
}
SPOTS = [("database",), ("pythonpath",), ("pythonpath", 0), ("apps",), ("apps", "blog"),
         ("apps", "blog", "models"), ("apps", "blog", "migrations"), ("lockfile",), ("extra",),
         ("apps", "shop")]


@st.composite
def one_thing_wrong(draw: st.DrawFn) -> dict[str, Any]:
    """A valid section with one to three values replaced: every check gets reached."""
    section = json.loads(json.dumps(GOOD))
    for _ in range(draw(st.integers(1, 3))):
        spot = draw(st.sampled_from(SPOTS))
        value = draw(st.one_of(PATHS, MODULES, URLS, VALUES))
        parent: Any = section
        for key in spot[:-1]:  # an earlier replacement may have changed the shape
            if isinstance(parent, dict) and isinstance(key, str) and key in parent:
                parent = parent[key]
            elif isinstance(parent, list) and isinstance(key, int) and key < len(parent):
                parent = parent[key]
            else:
                parent = None
        last = spot[-1]
        if isinstance(parent, dict) and isinstance(last, str):
            parent[last] = value
        elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
            parent[last] = value
    return section


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(section=one_thing_wrong())
def test_a_valid_configuration_with_one_thing_wrong(section: dict[str, Any]) -> None:
    check_section(section)


@FUZZ
@given(text=st.text(max_size=300))
def test_random_text_as_pyproject(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pyproject = project_with(Path(tmp), VALID, "[tool.gitmig]\n" + text)
        only_gitmig_errors(load_config, pyproject)
