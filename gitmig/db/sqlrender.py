"""`gitmig sqlmigrate`: the plan of one migration, printed as SQL instead of run.

The same preparation as migrate (gitmig.db.executor), the same operations (gitmig.db.ddl),
run against Alembic in its offline mode, which writes each statement instead of sending
it. RunPython cannot be printed and appears as a comment.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from gitmig.config import Config
from gitmig.db.executor import Executor, Prepared, project_on_path
from gitmig.errors import GitmigError
from gitmig.migrations.plan import Step

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Dialect

SQL_DIALECTS = ("sqlite", "postgresql", "mysql")


def render_sql(
    config: Config,
    app: str,
    ref: str,
    *,
    backwards: bool = False,
    dialect: str | None = None,
    database: str | None = None,
) -> str:
    """The SQL of one migration, runnable as printed (each statement ends with `;`).

    With a dialect, no database is needed; names the database would give unnamed
    constraints are then its defaults. Otherwise the configured database's dialect is
    used, and those names are looked up in it when it has them.
    """
    from gitmig.db.connection import connect, database_missing, parse_url
    from gitmig.migrations.loader import load_graph

    config.app(app)
    graph = load_graph(config)
    key = graph.resolve(app, ref)
    with project_on_path(config):
        executor = Executor(graph)
        applied = graph.ancestors(key) - ({key} if not backwards else set())
        prepared = executor.prepare([Step(key, backwards=backwards)], applied)[0]
        if dialect is not None:
            return _as_sql(prepared, sa_dialect(dialect), None)
        url = config.database_url(database)
        if database_missing(url):
            return _as_sql(prepared, _printing_dialect(parse_url(url).get_dialect()), None)
        with connect(url, config.timeouts) as conn:
            return _as_sql(prepared, _printing_dialect(type(conn.dialect), conn), conn)


def sa_dialect(name: str) -> Dialect:
    import sqlalchemy as sa

    if name not in SQL_DIALECTS:
        raise GitmigError(f"unknown dialect {name!r}; use one of {', '.join(SQL_DIALECTS)}")
    driver = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}.get(name, name)
    return _printing_dialect(sa.engine.make_url(f"{driver}://").get_dialect())


def _printing_dialect(cls: type[Dialect], conn: Connection | None = None) -> Dialect:
    """A dialect for printing SQL: named parameters, so that a literal 50% stays 50%.

    (With the drivers' own %s parameters, SQLAlchemy doubles every % it prints.)
    """
    if conn is None:
        return cls(paramstyle="named")  # type: ignore[call-arg]
    dialect = cls(paramstyle="named", dbapi=conn.dialect.dbapi)  # type: ignore[call-arg]
    dialect.initialize(conn)  # server version: MariaDB or MySQL, PostgreSQL release
    return dialect


def _as_sql(prepared: Prepared, dialect: Dialect, conn: Connection | None) -> str:
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    from gitmig.db import ddl
    from gitmig.db.backends import backend_for
    from gitmig.migrations.options import options

    buffer = io.StringIO()
    context = MigrationContext.configure(
        dialect=dialect,
        opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True},
    )
    operations = Operations(context)
    backend = backend_for(dialect)
    verb = "Unapply" if prepared.step.backwards else "Apply"
    buffer.write(f"-- {verb} {prepared.label} ({dialect.name})\n")
    # Not atomic (`atomic = False`, or CREATE INDEX CONCURRENTLY): no transaction around
    # it, each statement commits on its own, as migrate runs it.
    atomic = options(prepared.file.path).atomic and not any(
        backend.outside_transaction(a.op) for a in prepared.actions)
    if backend.transactional_ddl and atomic:
        buffer.write("BEGIN;\n")
    elif backend.transactional_ddl:
        buffer.write("-- not atomic: each statement commits on its own\n")
    buffer.write("\n")
    for action in prepared.actions:
        buffer.write(f"-- {action.describe()}\n")
        ctx = ddl.Context(operations, backend, dialect, action.before, action.after,
                          connection=conn, as_sql=True, output=buffer)
        ddl.run(action.op, ctx)
    if not prepared.actions:
        buffer.write("-- (no operations)\n\n")
    if backend.transactional_ddl and atomic:
        buffer.write("COMMIT;\n")
    return "\n".join(line.rstrip() for line in buffer.getvalue().rstrip().splitlines()) + "\n"
