"""Run gitmig with every statement it sends recorded: `python bench/record.py OUT -- ARGS`.

For a floor where Alembic cannot give one (its upgrade fails on MariaDB: a foreign key's
index cannot be dropped there), the statements gitmig itself sent, in the format
run.ddl_script reads.
"""

from __future__ import annotations

import sys


def main() -> int:
    out_path, args = sys.argv[1], sys.argv[3:]
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    out = open(out_path, "a")  # noqa: SIM115 - open for the whole run

    @event.listens_for(Engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore
        out.write(statement.strip().rstrip(";") + ";\n-- end\n")
        out.flush()

    from gitmig.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
