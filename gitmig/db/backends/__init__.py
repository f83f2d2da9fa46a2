"""One class per database: what each does its own way (Alembic's ddl/impl.py and friends).

The rest of gitmig.db asks the backend (`backend_for(conn.dialect)`) instead of testing
dialect names: whether DDL is transactional, how migrate takes the database's lock, the
names it gives unnamed constraints, and the operations it runs differently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

    from gitmig.db.backends.base import Backend


def family(name: str) -> str:
    """sqlite, postgresql or mysql (MariaDB included); other names pass through."""
    return "mysql" if name in ("mysql", "mariadb") else name


def backend_for(dialect: Dialect | str) -> Backend:
    """The backend of a dialect (or of a dialect name such as `mariadb`)."""
    name = family(dialect if isinstance(dialect, str) else dialect.name)
    if name == "sqlite":
        from gitmig.db.backends.sqlite import SQLiteBackend

        return SQLiteBackend()
    if name == "postgresql":
        from gitmig.db.backends.postgresql import PostgreSQLBackend

        return PostgreSQLBackend()
    if name == "mysql":
        from gitmig.db.backends.mysql import MySQLBackend

        return MySQLBackend()
    from gitmig.db.backends.base import Backend

    return Backend(name)
