"""A database's schema as its own catalog says it, as plain JSON-able values.

Each backend reads its database's system tables (gitmig/db/backends/catalog_*.py) into
one shape, which gitmig.db.compare compares:

    {"tables": {NAME: {"options": {...}, "columns": {NAME: {"type", "not_null",
                "default", ...}}, "indexes": {NAME: {"shape", ...}},
                "constraints": {NAME: {"kind", "definition", ...}}}},
     "types": {NAME: {"labels": [...]}},        # PostgreSQL enums
     "sequences": {NAME: {..., "owned_by"}}}

The facts are the database's own renderings, so two databases are compared as the same
server spells them (gitmig.db.expected builds the other side).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.engine import Connection

from gitmig.db.backends import backend_for

Catalog = dict[str, Any]
MARKER = "gitmig_scratch_in_use"  # a table in a --scratch-url database while gitmig uses it


def read_catalog(conn: Connection, *, raw: bool = False) -> Catalog:
    """The catalog of the database `conn` is on; without `raw`, the marker table of a
    scratch database gitmig is using (gitmig.db.scratch) is left out."""
    catalog = backend_for(conn.dialect).read_catalog(conn)
    if conn.in_transaction():
        conn.rollback()
    if not raw:
        catalog["tables"].pop(MARKER, None)
    normal: Catalog = json.loads(json.dumps(catalog, sort_keys=True, default=str))
    return normal


def read_catalog_url(url: str, timeouts: Any = None) -> Catalog:
    from gitmig.db.connection import connect

    with connect(url, timeouts) as conn:
        return read_catalog(conn)
