"""What to do next, written once: the hints that several commands give for one situation,
so that `status`, `conflicts`, `makemigrations`, the hooks and the errors say the same fix
the same way. Each is a `str.format` template; `{app}` is an app label (or `APP` where a
list names several)."""

from __future__ import annotations

# An app has several latest migrations (after a merge, or two branches adding migrations).
RESOLVE = "run `gitmig resolve {app}`"
RESOLVE_HOW = (
    RESOLVE + " (renumbers this branch's new migrations after the other branch's; "
    "`--strategy merge` writes a merge migration instead)"
)

# Model changes have no migration yet.
MAKEMIGRATIONS = "run `gitmig makemigrations {app}`"
MAKEMIGRATIONS_ANY = "run `gitmig makemigrations`"

# The database lacks migrations that the files have.
MIGRATE = "run `gitmig migrate`"

# No [tool.gitmig] configuration found.
INIT = "run `gitmig init --app LABEL=package.models`"

# The hooks are missing, outdated, or run a Python that is gone.
HOOKS_INSTALL = "run `gitmig hooks install`"


# `gitmig lint` (and the pre-commit hook) found what hurts in production.
LINT_FIX = "write the safe form, or silence it with `# gitmig: allow RULE-ID reason`"

def resolve(app: str) -> str:
    return RESOLVE_HOW.format(app=app)


def makemigrations(app: str) -> str:
    return MAKEMIGRATIONS.format(app=app)


# A fleet is missing or names no databases (gitmig.fleet.spec).
FLEET_CONFIG = ("name it in pyproject.toml: [tool.gitmig.fleets.NAME] with databases = [...], "
                "databases_file = \"...\", or url = \"...\" with schemas = [...]")

# Some targets of a fleet run failed; the others are done.
FLEET_RERUN = ("fix what each failed target reports, then run the same command again: "
               "targets already migrated are skipped")


# A migration failed on a statement PostgreSQL runs only outside a transaction block.
NOT_IN_TRANSACTION = (
    "PostgreSQL runs that statement only outside a transaction block; gitmig runs a RunSQL "
    "string so when it holds one statement that is CREATE/DROP INDEX, REINDEX or DETACH "
    "PARTITION ... CONCURRENTLY, VACUUM, CREATE/DROP DATABASE or TABLESPACE, or ALTER "
    "SYSTEM: give each its own string (RunSQL takes a list); run any other by hand (psql), "
    "then record the migration with `gitmig migrate {app} {name} --fake`"
)

# `gitmig migrate` gave up waiting for a lock on every attempt (lock_timeout, lock_retries).
LOCK_TIMEOUT = (
    "another session holds a lock on the table (PostgreSQL: pg_locks and pg_stat_activity "
    "show it; MariaDB/MySQL: SHOW PROCESSLIST): let it finish, then run `gitmig migrate` "
    "again, or raise lock_timeout or lock_retries in [tool.gitmig] (or at the top of the "
    "migration file)"
)
