"""Write one schema history (bench/history.py) as three projects: gitmig, Django, Alembic.

    python bench/generate.py N [--out DIR] [--seed S] [--tools gitmig,django,alembic]
                               [--gitmig-via api|cli]

How each tool's migrations are made, and why:

- gitmig: by default through gitmig's own pipeline in one process — the step's models.py is
  executed, read by gitmig.schema.models, diffed by gitmig.migrations.autodetector (renames
  answered as `--rename` would), named by gitmig.migrations.naming and written by
  gitmig.migrations.writer: the same code
  `gitmig makemigrations` runs, without starting a process and replaying the whole history
  for each of the N steps. `--gitmig-via cli` runs the real `gitmig makemigrations
  --no-input [--rename ...]` once per step instead (honest, and slow for large N); the
  smoke test checks that both give byte-identical files.
- Django: Django's own MigrationAutodetector on the step's model states (renames answered
  yes, as a person would) and Django's own MigrationWriter, i.e. what `makemigrations` does
  after loading models.py. models.py holds the final state; `makemigrations --check` on it
  proves the files and the models agree.
- Alembic: a linear chain of revision files whose bodies are rendered by Alembic's own
  autogenerate renderer (render_as_batch=True, as Alembic recommends for SQLite) into the
  `alembic init` template. Autogenerate cannot detect renames, so, like an Alembic user,
  the operations are said explicitly; NOT NULL columns added to existing tables carry a
  server default, as they must for Alembic.

The gitmig project is also a git repository whose history has one commit per migration,
50 branches off recent commits that each add one migration (for `gitmig conflicts
--all-branches`), and a prepared model change for the pre-commit hook benchmark.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime
import io
import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
import time
import types
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.history import APP, Column, Index, Schema, Step, Table, build_history, summary
from gitmig.migrations.lockfile import LOCK_NAME as LOCK

GENERATOR_VERSION = 3  # bump when the generated projects change; cached projects are rebuilt
BRANCHES = 50
DATE = datetime.datetime(2025, 1, 6, 9, 0, 0)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}


# --------------------------------------------------------------------------------------
# SQLAlchemy models (gitmig and Alembic projects)
# --------------------------------------------------------------------------------------

_SA_TYPE = {"int": "sa.Integer", "text": "sa.Text", "bool": "sa.Boolean",
            "datetime": "sa.DateTime"}
_PY_TYPE = {"int": "int", "str": "str", "text": "str", "bool": "bool", "datetime": "datetime",
            "fk": "int"}


def sa_type_source(col: Column) -> str:
    return f"sa.String({col.length})" if col.kind == "str" else _SA_TYPE[col.kind]


def sa_models_text(schema: Schema) -> str:
    out = [
        '"""The models of the generated bench project."""',
        "",
        "from datetime import datetime",
        "",
        "import sqlalchemy as sa",
        "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column",
        "",
        "",
        "class Base(DeclarativeBase):",
        "    pass",
    ]
    for table in schema.tables.values():
        out += ["", "", f"class {table.model}(Base):", f'    __tablename__ = "{table.name}"', ""]
        for col in table.columns:
            py = _PY_TYPE[col.kind] + (" | None" if col.nullable else "")
            if col.name == "id":
                out.append("    id: Mapped[int] = mapped_column(primary_key=True)")
                continue
            args = []
            if col.kind == "fk":
                assert col.ref is not None
                args.append(f'sa.ForeignKey("{schema.table_name(col.ref)}.id")')
            else:
                args.append(sa_type_source(col))
            if col.default is not None:
                args.append(f"default={col.default!r}")
            out.append(f"    {col.name}: Mapped[{py}] = mapped_column({', '.join(args)})")
        if table.indexes:
            ixs = ", ".join(f'sa.Index("{ix.name}", "{ix.column}")' for ix in table.indexes)
            out += ["", f"    __table_args__ = ({ixs},)"]
    return "\n".join(out) + "\n"


def sa_tables(schema: Schema) -> dict[int, Any]:
    """The schema as sa.Table objects in one MetaData (for Alembic's renderer)."""
    import sqlalchemy as sa

    md = sa.MetaData()
    out = {}
    for table in schema.tables.values():
        cols = [sa_column(c, schema) for c in table.columns]
        t = sa.Table(table.name, md, *cols)
        for ix in table.indexes:
            sa.Index(ix.name, t.c[ix.column])
        out[table.tid] = t
    return out


def sa_column(col: Column, schema: Schema, server_default: bool = False) -> Any:
    import sqlalchemy as sa

    if col.name == "id":
        return sa.Column("id", sa.Integer(), primary_key=True, nullable=False)
    if col.kind == "fk":
        assert col.ref is not None
        return sa.Column(col.name, sa.Integer(),
                         sa.ForeignKey(f"{schema.table_name(col.ref)}.id"),
                         nullable=col.nullable)
    type_ = {"str": lambda: sa.String(col.length), "int": sa.Integer, "text": sa.Text,
             "bool": sa.Boolean, "datetime": sa.DateTime}[col.kind]()
    kw: dict[str, Any] = {}
    if server_default and col.default is not None:
        kw["server_default"] = str(col.default)
    return sa.Column(col.name, type_, nullable=col.nullable, **kw)


# --------------------------------------------------------------------------------------
# gitmig
# --------------------------------------------------------------------------------------

GITMIG_PYPROJECT = """\
[project]
name = "bench-shop"
version = "0"

[tool.gitmig]
database = "sqlite:///db.sqlite3"

[tool.gitmig.apps]
shop = "shop.models"
"""


@dataclass
class GitmigMigration:
    name: str
    text: str


class GitmigWriter:
    """gitmig's makemigrations pipeline, in process, one step at a time."""

    def __init__(self, root: Path) -> None:
        from gitmig.config import parse_section
        from gitmig.schema.state import SchemaState

        self.config = parse_section(
            {"database": "sqlite:///db.sqlite3", "apps": {APP: f"{APP}.models"}},
            root / "pyproject.toml",
        )
        self.state = SchemaState()
        self.leaf: str | None = None
        self.number = 0

    def models_state(self, models_text: str) -> Any:
        from gitmig.schema.models import models_state

        module = types.ModuleType(f"{APP}.models")
        module.__file__ = f"{APP}/models.py"
        # SQLAlchemy resolves the Mapped[...] annotations through sys.modules.
        sys.modules[module.__name__] = module
        try:
            exec(compile(models_text, module.__file__, "exec"), module.__dict__)
            return models_state(self.config, {APP: module})
        finally:
            del sys.modules[module.__name__]

    def changes(self, before: Any, after: Any, step_renames: Iterable[str]) -> list[Any]:
        from gitmig.migrations import autodetector
        from gitmig.migrations.questioner import Answers, Questioner

        questioner = Questioner(Answers.parse(list(step_renames), []))
        found = autodetector.detect(before, after, [APP], questioner)
        return found[APP].operations if APP in found else []

    def migration(self, before: Any, after: Any, renames: Iterable[str], number: int,
                  parent: str | None) -> GitmigMigration:
        from gitmig.migrations import naming, writer

        ops = self.changes(before, after, renames)
        if not ops:
            raise RuntimeError(f"gitmig found no change for migration {number}")
        name = naming.full_name(number, naming.suggest(ops, initial=parent is None))
        return GitmigMigration(name, writer.migration_text([parent] if parent else [], ops))

    def step(self, models_text: str, renames: list[str]) -> GitmigMigration:
        after = self.models_state(models_text)
        self.number += 1
        m = self.migration(self.state, after, renames, self.number, self.leaf)
        self.state, self.leaf = after, m.name
        return m


class LockKeeper:
    """The app's gitmig.lock as makemigrations keeps it, one new migration at a time."""

    def __init__(self, link: str = "") -> None:
        self.link = link

    def add(self, name: str, text: str) -> str:
        from gitmig.migrations import lockfile
        from gitmig.migrations.loader import parse_migration

        checksum = parse_migration(APP, name, text.encode(), name).checksum
        self.link = lockfile.next_link(self.link, name, checksum)  # numbered: last by name
        return lockfile.render(APP, lockfile.Lock(name, self.link))


def gitmig_renames(step: Step) -> list[str]:
    out = [f"{old}={new}" for old, new in step.table_renames()]
    out += [f"{table}.{old}={new}" for table, old, new in step.column_renames()]
    return out


def add_one_column(schema: Schema, rng: random.Random) -> tuple[Schema, str]:
    """The schema with one new nullable column: a feature branch's model change."""
    schema = copy.deepcopy(schema)
    table = rng.choice(list(schema.tables.values()))
    taken = {c.name for c in table.columns}
    i = 1
    while f"feature{i}" in taken:
        i += 1
    table.columns.append(Column(f"feature{i}", "str", length=100, nullable=True))
    return schema, table.name


def write_gitmig(steps: list[Step], root: Path, via: str, seed: int) -> dict[str, Any]:
    app = root / APP
    (root / APP / "migrations").mkdir(parents=True)
    (root / "pyproject.toml").write_text(GITMIG_PYPROJECT)
    (app / "__init__.py").write_text("")
    (root / "README.md").write_text("The gitmig project of the benchmark.\n")
    (root / ".gitignore").write_text("db.sqlite3\n__pycache__/\n.bench/\n")
    writer = GitmigWriter(root)
    commits: list[tuple[str, dict[str, str]]] = []
    first = {
        "pyproject.toml": GITMIG_PYPROJECT,
        f"{APP}/__init__.py": "",
        "README.md": (root / "README.md").read_text(),
        ".gitignore": (root / ".gitignore").read_text(),
    }
    recent: list[tuple[Any, str, str, str]] = []  # (state, models, leaf, lock link) of last
    lock = LockKeeper()
    for i, step in enumerate(steps):
        models = sa_models_text(step.after)
        if via == "cli":
            name, text = _gitmig_cli_step(root, models, gitmig_renames(step))
            writer.state, writer.leaf, writer.number = None, name, i + 1
        else:
            m = writer.step(models, gitmig_renames(step))
            name, text = m.name, m.text
        (app / "models.py").write_text(models)
        (app / "migrations" / f"{name}.py").write_text(text)
        lock_text = lock.add(name, text)
        if via == "cli":  # makemigrations kept it already
            lock_text = (app / "migrations" / LOCK).read_text()
        else:
            (app / "migrations" / LOCK).write_text(lock_text)
        files = dict(first) if i == 0 else {}
        files[f"{APP}/models.py"] = models
        files[f"{APP}/migrations/{name}.py"] = text
        files[f"{APP}/migrations/{LOCK}"] = lock_text
        commits.append((f"{name}\n", files))
        if via == "api":
            recent = (recent + [(writer.state, models, name, lock.link)])[-21:]

    rng = random.Random(seed + 1)
    branches: list[tuple[str, int, str, dict[str, str]]] = []
    hook: dict[str, str] = {}
    if via == "api":
        for b in range(BRANCHES):
            back = rng.randint(0, len(recent) - 1)
            state, _, leaf, link = recent[-1 - back]
            base_index = len(steps) - 1 - back
            schema, table = add_one_column(steps[base_index].after, rng)
            models = sa_models_text(schema)
            m = writer.migration(state, writer.models_state(models), [], base_index + 2, leaf)
            branches.append((f"feature/{b:02d}-{table}", base_index, f"{m.name}\n", {
                f"{APP}/models.py": models,
                f"{APP}/migrations/{m.name}.py": m.text,
                f"{APP}/migrations/{LOCK}": LockKeeper(link).add(m.name, m.text),
            }))
        schema, _ = add_one_column(steps[-1].after, rng)
        models = sa_models_text(schema)
        m = writer.migration(writer.state, writer.models_state(models), [], len(steps) + 1,
                             writer.leaf)
        hook = {"models": models, "name": m.name, "migration": m.text}
    _git_history(root, commits, branches)
    if hook:
        folder = root / ".bench" / "hook"
        folder.mkdir(parents=True)
        (folder / "models.py").write_text(hook["models"])
        (folder / f"{hook['name']}.py").write_text(hook["migration"])
    return {"leaf": commits[-1][0].strip(), "branches": len(branches),
            "hook_migration": hook.get("name")}


def _gitmig_cli_step(root: Path, models: str, renames: list[str]) -> tuple[str, str]:
    folder = root / APP / "migrations"
    before = {p.name for p in folder.glob("*.py")}
    (root / APP / "models.py").write_text(models)
    args = [str(Path(sys.executable).parent / "gitmig"), "makemigrations", "--no-input"]
    for r in renames:
        args += ["--rename", r]
    done = subprocess.run(args, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"gitmig makemigrations failed ({done.returncode}): {done.stderr}")
    new = sorted({p.name for p in folder.glob("*.py")} - before)
    if len(new) != 1:
        raise RuntimeError(f"gitmig makemigrations wrote {new}, expected one file")
    path = folder / new[0]
    return path.stem, path.read_text()


def _git_history(root: Path, commits: list[tuple[str, dict[str, str]]],
                 branches: list[tuple[str, int, str, dict[str, str]]]) -> None:
    """One commit per migration on main, then the feature branches, through fast-import."""
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    chunks: list[bytes] = []
    when = int(DATE.replace(tzinfo=datetime.UTC).timestamp())

    def commit(ref: str, mark: int | None, parent: int | None, message: str,
               files: dict[str, str], t: int) -> None:
        head = f"commit {ref}\n"
        if mark is not None:
            head += f"mark :{mark}\n"
        msg = message.encode()
        head += f"committer Bench <bench@example.invalid> {t} +0000\ndata {len(msg)}\n"
        chunks.append(head.encode() + msg + b"\n")
        if parent is not None:
            chunks.append(f"from :{parent}\n".encode())
        for path, text in files.items():
            data = text.encode()
            chunks.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        chunks.append(b"\n")

    for i, (message, files) in enumerate(commits):
        commit("refs/heads/main", i + 1, i if i else None, message, files, when + 60 * i)
    for ref, base, message, files in branches:
        commit(f"refs/heads/{ref}", None, base + 1, message, files, when + 60 * len(commits))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(chunks),
                   check=True, env=env)
    subprocess.run(["git", "reset", "-q"], cwd=root, check=True, env=env)
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=root, env=env)


# --------------------------------------------------------------------------------------
# Django
# --------------------------------------------------------------------------------------

DJANGO_SETTINGS = '''\
"""Settings of the Django project of the benchmark: one app, one database."""

import os
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "bench-not-secret"
DEBUG = False
INSTALLED_APPS = ["shop"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

_url = os.environ.get("BENCH_DATABASE_URL", "")
if _url.startswith("postgresql"):
    _parts = urlsplit(_url.replace("+psycopg", ""))
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _parts.path.lstrip("/"),
            "USER": _parts.username or "",
            "PASSWORD": _parts.password or "",
            "HOST": _parts.hostname or "",
            "PORT": str(_parts.port or ""),
        }
    }
elif _url.startswith("mysql"):
    import pymysql  # Django's MySQL backend wants mysqlclient; PyMySQL stands in for it

    pymysql.version_info = (2, 2, 1, "final", 0)
    pymysql.install_as_MySQLdb()
    _parts = urlsplit(_url.replace("+pymysql", ""))
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": _parts.path.lstrip("/"),
            "USER": _parts.username or "",
            "PASSWORD": _parts.password or "",
            "HOST": _parts.hostname or "",
            "PORT": str(_parts.port or ""),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _url.removeprefix("sqlite:///") if _url else BASE_DIR / "db.sqlite3",
        }
    }
'''

DJANGO_MANAGE = '''\
#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
'''

_DJ_FIELD = {"int": "models.IntegerField", "text": "models.TextField",
             "bool": "models.BooleanField", "datetime": "models.DateTimeField"}


def django_field_name(col: Column) -> str:
    return col.name[:-3] if col.kind == "fk" else col.name


def django_field_source(col: Column, schema: Schema) -> str:
    if col.name == "id":
        return "models.AutoField(primary_key=True)"
    kw: list[str] = []
    if col.kind == "fk":
        assert col.ref is not None
        target = schema.tables[col.ref].model
        call = "models.ForeignKey"
        kw = [f'"{APP}.{target}"', "on_delete=models.CASCADE", "db_index=False"]
    elif col.kind == "str":
        call = "models.CharField"
        kw = [f"max_length={col.length}"]
    else:
        call = _DJ_FIELD[col.kind]
    if col.nullable:
        kw.append("null=True")
    if col.default is not None:
        kw.append(f"default={col.default!r}")
    return f"{call}({', '.join(kw)})"


def django_index_source(table: Table, ix: Index) -> str:
    field = django_field_name(table.column(ix.column))
    return f'models.Index(fields=["{field}"], name="{ix.name}")'


def django_models_text(schema: Schema) -> str:
    out = ['"""The models of the generated bench project."""', "", "from django.db import models"]
    for table in schema.tables.values():
        out += ["", "", f"class {table.model}(models.Model):"]
        for col in table.columns:
            out.append(f"    {django_field_name(col)} = {django_field_source(col, schema)}")
        if table.indexes:
            out += ["", "    class Meta:", "        indexes = ["]
            out += [f"            {django_index_source(table, ix)}," for ix in table.indexes]
            out.append("        ]")
    return "\n".join(out) + "\n"


def _setup_django() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(INSTALLED_APPS=[], DATABASES={}, USE_TZ=True,
                           DEFAULT_AUTO_FIELD="django.db.models.AutoField")
        django.setup()


def django_project_state(schema: Schema) -> Any:
    from django.db import models
    from django.db.migrations.state import ModelState, ProjectState

    state = ProjectState()
    env = {"models": models}
    for table in schema.tables.values():
        # A primary key declared in a model is not serialized (Options.setup_pk says so).
        fields = [(django_field_name(c), eval(django_field_source(c, schema), env))
                  for c in table.columns]
        fields[0][1].serialize = False
        indexes = [eval(django_index_source(table, ix), env) for ix in table.indexes]
        state.add_model(ModelState(APP, table.model, fields, {"indexes": indexes}))
    return state


def write_django(steps: list[Step], root: Path) -> dict[str, Any]:
    _setup_django()
    import django.db.migrations.writer as django_writer
    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.graph import MigrationGraph
    from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
    from django.db.migrations.writer import MigrationWriter

    class StepQuestioner(NonInteractiveMigrationQuestioner):
        """Answers yes to exactly this step's renames, as the person making it would."""

        def __init__(self, step: Step) -> None:
            super().__init__(specified_apps={APP}, dry_run=False, verbosity=0,
                             log=lambda *args, **kwargs: None)
            self.columns = {(t, o, n) for t, o, n in step.column_renames()}
            self.tables = {(o.removeprefix(f"{APP}_"), n.removeprefix(f"{APP}_"))
                           for o, n in step.table_renames()}

        def ask_rename(self, model_name: str, old_name: str, new_name: str,
                       field_instance: Any) -> bool:
            return (f"{APP}_{model_name.lower()}", old_name, new_name) in self.columns

        def ask_rename_model(self, old_model_state: Any, new_model_state: Any) -> bool:
            return (old_model_state.name.lower(), new_model_state.name.lower()) in self.tables

    (root / APP / "migrations").mkdir(parents=True)
    (root / APP / "__init__.py").write_text("")
    (root / APP / "migrations" / "__init__.py").write_text("")
    (root / "settings.py").write_text(DJANGO_SETTINGS)
    (root / "manage.py").write_text(DJANGO_MANAGE)
    (root / APP / "models.py").write_text(django_models_text(steps[-1].after))
    real_now = django_writer.now
    django_writer.now = lambda: DATE  # the "Generated by Django ... on DATE" header
    try:
        graph = MigrationGraph()
        before = django_project_state(Schema())
        for i, step in enumerate(steps):
            after = django_project_state(step.after)
            # The autodetector consumes its states (it pops options); keep a clean copy.
            next_before = after.clone()
            detector = MigrationAutodetector(before, after, StepQuestioner(step))
            changes = detector.changes(graph=graph, trim_to_apps={APP}, convert_apps={APP})
            migrations = changes.get(APP, [])
            if len(migrations) != 1:
                raise RuntimeError(f"Django made {len(migrations)} migrations for step {i + 1}")
            migration = migrations[0]
            graph.add_node((APP, migration.name), migration)
            for dep in migration.dependencies:
                graph.add_dependency(migration, (APP, migration.name), dep)
            text = MigrationWriter(migration).as_string()
            (root / APP / "migrations" / f"{migration.name}.py").write_text(text)
            before = next_before
    finally:
        django_writer.now = real_now
    return {}


# --------------------------------------------------------------------------------------
# Alembic
# --------------------------------------------------------------------------------------

ALEMBIC_ENV = '''\
"""Alembic's generic env.py, with the project's metadata, batch mode for SQLite, the URL
from BENCH_DATABASE_URL, and (for the benchmark's DDL floor) statements recorded to the
file named by BENCH_RECORD_SQL."""

import os
from logging.config import fileConfig

from sqlalchemy import engine_from_config, event, pool

from alembic import context

config = context.config
if config.config_file_name is not None and os.environ.get("BENCH_ALEMBIC_LOGGING"):
    fileConfig(config.config_file_name)
if os.environ.get("BENCH_DATABASE_URL"):
    config.set_main_option("sqlalchemy.url", os.environ["BENCH_DATABASE_URL"])

from models import Base  # noqa: E402

target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _record(engine, path):
    out = open(path, "a")

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):
        out.write(statement.strip().rstrip(";") + ";\\n-- end\\n")
        out.flush()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    if os.environ.get("BENCH_RECORD_SQL"):
        _record(connectable, os.environ["BENCH_RECORD_SQL"])
    with connectable.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''


def _alembic_ops(step: Step) -> tuple[list[Any], list[Any], str]:
    """(upgrade ops, downgrade ops, message) for one step, as autogenerate would build them."""
    from alembic.operations import ops

    before, after = step.before, step.after
    t_before, t_after = sa_tables(before), sa_tables(after)
    up: list[Any] = []
    down: list[Any] = []
    words: list[str] = []

    def modify(table_name: str, *inner: Any) -> Any:
        return ops.ModifyTableOps(table_name, list(inner))

    for op in step.ops:
        kind, tid = op[0], op[1]
        if kind == "create_table":
            t = t_after[tid]
            up.append(ops.CreateTableOp.from_table(t))
            ixs = [ops.CreateIndexOp.from_index(ix) for ix in sorted(t.indexes, key=_ix_name)]
            if ixs:
                up.append(modify(t.name, *ixs))
                down.insert(0, modify(t.name, *[i.reverse() for i in reversed(ixs)]))
            down.insert(0, ops.DropTableOp.from_table(t))
            words.append(f"create {t.name}")
        elif kind == "drop_table":
            t = t_before[tid]
            ixs = [ops.DropIndexOp.from_index(ix) for ix in sorted(t.indexes, key=_ix_name)]
            if ixs:
                up.append(modify(t.name, *ixs))
            up.append(ops.DropTableOp.from_table(t))
            down.insert(0, ops.CreateTableOp.from_table(t))
            if ixs:
                down.insert(1, modify(t.name, *[i.reverse() for i in reversed(ixs)]))
            words.append(f"drop {t.name}")
        elif kind == "rename_table":
            old, new = f"{APP}_{op[2]}", f"{APP}_{op[3]}"
            up.append(ops.RenameTableOp(old, new))
            down.insert(0, ops.RenameTableOp(new, old))
            words.append(f"rename {old} to {new}")
        elif kind == "add_column":
            table = after.tables[tid]
            col = table.column(op[2])
            column = sa_column(col, after, server_default=True)
            inner: list[Any] = [ops.AddColumnOp(table.name, column)]
            back: list[Any] = [ops.DropColumnOp(table.name, col.name)]
            if col.kind == "fk":
                ref = after.table_name(col.ref) if col.ref else ""
                fk_name = f"fk_{table.word}_{col.name}"[:60]
                inner.append(ops.CreateForeignKeyOp(fk_name, table.name, ref, [col.name], ["id"]))
                back.insert(0, ops.DropConstraintOp(fk_name, table.name, type_="foreignkey"))
            up.append(modify(table.name, *inner))
            down.insert(0, modify(table.name, *back))
            words.append(f"add {table.name}.{col.name}")
        elif kind == "drop_column":
            table = before.tables[tid]
            column = sa_column(op[2], before)
            up.append(modify(table.name, ops.DropColumnOp.from_column_and_tablename(
                None, table.name, column)))
            down.insert(0, modify(table.name, ops.AddColumnOp(table.name, column)))
            words.append(f"drop {table.name}.{op[2].name}")
        elif kind in ("alter_length", "alter_nullable", "rename_column"):
            table = before.tables[tid]
            name = op[2]
            old_col = table.column(name)
            existing = sa_column(old_col, before)
            kw: dict[str, Any] = {"existing_type": existing.type,
                                  "existing_nullable": old_col.nullable}
            if kind == "alter_length":
                import sqlalchemy as sa

                fwd = ops.AlterColumnOp(table.name, name, modify_type=sa.String(op[4]), **kw)
                words.append(f"alter {table.name}.{name} length")
            elif kind == "alter_nullable":
                fwd = ops.AlterColumnOp(table.name, name, modify_nullable=op[4], **kw)
                words.append(f"alter {table.name}.{name} nullable")
            else:
                fwd = ops.AlterColumnOp(table.name, name, modify_name=op[3], **kw)
                words.append(f"rename {table.name}.{name} to {op[3]}")
            up.append(modify(table.name, fwd))
            if kind == "rename_column":
                rev = ops.AlterColumnOp(table.name, op[3], modify_name=name, **kw)
            else:
                rev = fwd.reverse()
            down.insert(0, modify(table.name, rev))
        elif kind == "create_index":
            t = t_after[tid]
            ix = next(i for i in t.indexes if i.name == op[2].name)
            up.append(modify(t.name, ops.CreateIndexOp.from_index(ix)))
            down.insert(0, modify(t.name, ops.DropIndexOp.from_index(ix)))
            words.append(f"index {t.name}.{op[2].column}")
        elif kind == "drop_index":
            t = t_before[tid]
            ix = next(i for i in t.indexes if i.name == op[2].name)
            up.append(modify(t.name, ops.DropIndexOp.from_index(ix)))
            down.insert(0, modify(t.name, ops.CreateIndexOp.from_index(ix)))
            words.append(f"drop index {op[2].name}")
        else:
            raise ValueError(f"unknown operation {kind}")
    message = words[0] if len(words) == 1 else f"{words[0]} and {len(words) - 1} more"
    return _coalesce(up), _coalesce(down), message


def _coalesce(items: list[Any]) -> list[Any]:
    """One batch block per table, as autogenerate groups a table's changes."""
    from alembic.operations import ops

    out: list[Any] = []
    for item in items:
        last = out[-1] if out else None
        if (isinstance(item, ops.ModifyTableOps) and isinstance(last, ops.ModifyTableOps)
                and last.table_name == item.table_name):
            last.ops.extend(item.ops)
        else:
            out.append(item)
    return out


def _register_rename_table() -> None:
    """Autogenerate never emits a table rename, so its renderer has none; render the line an
    Alembic user writes by hand."""
    from alembic.autogenerate.render import renderers
    from alembic.operations import ops

    def render(autogen_context: Any, op: Any) -> str:
        return f"op.rename_table({op.table_name!r}, {op.new_table_name!r})"

    try:
        renderers.dispatch(ops.RenameTableOp("a", "b"))
    except ValueError:
        renderers.dispatch_for(ops.RenameTableOp)(render)


def _ix_name(ix: Any) -> str:
    return str(ix.name)


def write_alembic(steps: list[Step], root: Path, seed: int) -> dict[str, Any]:
    from alembic import command
    from alembic.autogenerate import render_python_code
    from alembic.config import Config
    from alembic.operations import ops
    from alembic.util import format_as_comma
    from mako.template import Template

    _register_rename_table()
    root.mkdir(parents=True, exist_ok=True)
    ini = root / "alembic.ini"
    cfg = Config(str(ini))
    with contextlib.redirect_stdout(io.StringIO()):
        command.init(cfg, str(root / "alembic"), template="generic")
    text = ini.read_text()
    text = text.replace("sqlalchemy.url = driver://user:pass@localhost/dbname",
                        "sqlalchemy.url = sqlite:///%(here)s/db.sqlite3")
    ini.write_text(text)
    (root / "alembic" / "env.py").write_text(ALEMBIC_ENV)
    (root / "models.py").write_text(sa_models_text(steps[-1].after))
    template = Template(filename=str(root / "alembic" / "script.py.mako"))
    rng = random.Random(seed + 2)
    down_rev: str | None = None
    versions = root / "alembic" / "versions"
    for i, step in enumerate(steps):
        up, down, message = _alembic_ops(step)
        rev = f"{rng.getrandbits(48):012x}"
        body = render_python_code(ops.UpgradeOps(up), render_as_batch=True)
        back = render_python_code(ops.DowngradeOps(down), render_as_batch=True)
        script = template.render(
            message=message,
            up_revision=rev,
            down_revision=down_rev,
            branch_labels=None,
            depends_on=None,
            create_date=str(DATE + datetime.timedelta(minutes=i)),
            imports="",
            comma=format_as_comma,
            upgrades=body,
            downgrades=back,
        )
        slug = "_".join(message.replace(".", "_").split())[:40].rstrip("_")
        (versions / f"{rev}_{slug}.py").write_text(script)
        down_rev = rev
    return {"head": down_rev}


# --------------------------------------------------------------------------------------
# The three projects
# --------------------------------------------------------------------------------------

TOOLS = ("gitmig", "django", "alembic")


def django_available() -> bool:
    try:
        import django  # noqa: F401
    except ImportError:
        return False
    return True


def generate(n: int, out: Path, seed: int = 1, tools: Iterable[str] = TOOLS,
             gitmig_via: str = "api", tables: int = 40) -> dict[str, Any]:
    """Write the projects for an N-step history under `out` (replaced if it exists)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    steps = build_history(n, seed, tables)
    meta: dict[str, Any] = {"n": n, "seed": seed, "tables": tables,
                            "generator": GENERATOR_VERSION, "history": summary(steps),
                            "seconds": {}}
    for tool in tools:
        started = time.perf_counter()
        if tool == "gitmig":
            meta["gitmig"] = write_gitmig(steps, out / "gitmig", gitmig_via, seed)
            meta["gitmig"]["via"] = gitmig_via
        elif tool == "django":
            if not django_available():
                meta["django"] = {"skipped": "Django is not installed"}
                continue
            meta["django"] = write_django(steps, out / "django")
        elif tool == "alembic":
            meta["alembic"] = write_alembic(steps, out / "alembic", seed)
        else:
            raise ValueError(f"unknown tool {tool!r}; choose from {', '.join(TOOLS)}")
        meta["seconds"][tool] = round(time.perf_counter() - started, 2)
    (out / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or "").split("\n")[0])
    parser.add_argument("n", type=int, help="number of migrations")
    parser.add_argument("--out", type=Path, help="folder to write (default bench/.work/gen-N)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tables", type=int, default=40, help="tables at the end (about)")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--gitmig-via", choices=("api", "cli"), default="api")
    args = parser.parse_args(argv)
    out = args.out or Path(__file__).resolve().parent / ".work" / f"gen-{args.n}"
    meta = generate(args.n, out, args.seed, args.tools.split(","), args.gitmig_via, args.tables)
    print(json.dumps(meta, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
