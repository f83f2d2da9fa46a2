"""The schemas `gitmig erd` and `gitmig diff --erd` draw.

The working tree's models are imported here, as makemigrations imports them; another
revision's models (or migrations) only ever in a child process from that revision's files,
as `gitmig diff` reads them (gitmig.git.snapshot).
"""

from __future__ import annotations

from dataclasses import dataclass

from gitmig.config import Config
from gitmig.git.snapshot import Snapshot
from gitmig.schema.erd import Diagram, between, of_state
from gitmig.schema.state import SchemaState


@dataclass(frozen=True)
class Drawn:
    label: str  # `the models in the working tree`, `the migrations at v1.3`
    diagram: Diagram


def schema(config: Config, rev: str | None, apps: tuple[str, ...], migrations: bool) -> Drawn:
    """A revision's models (or its migrations replayed); without REV, the working tree's."""
    labels = [a.label for a in config.select(apps)]
    what = "migrations" if migrations else "models"
    if rev is None:
        state = _worktree(config, migrations)
        where = "in the working tree"
    else:
        from gitmig.errors import GitmigError
        from gitmig.git.snapshot import GitProject

        try:
            snapshot = GitProject(config).revision(rev)
        except GitmigError as exc:
            raise GitmigError(exc.message, hint=(
                f"{rev!r} is no app either (apps: {', '.join(config.apps)}); the first "
                "argument is a revision unless it names an app")) from None
        models, replayed = snapshot.states(replay=migrations)
        state = replayed if migrations and replayed is not None else models
        where = f"at {rev}"
    return Drawn(f"the {what} {where}", of_state(state, _apps(state, labels, apps)))


def _worktree(config: Config, migrations: bool) -> SchemaState:
    if migrations:
        from gitmig.migrations.loader import load_graph
        from gitmig.migrations.replay import Replayer

        return Replayer(load_graph(config)).state()
    from gitmig.schema.models import models_state

    return models_state(config)


def _apps(state: SchemaState, labels: list[str], asked: tuple[str, ...]) -> list[str]:
    """The asked apps; or every configured one, then any other app the schema holds."""
    if asked:
        return labels
    return list(dict.fromkeys([*labels, *(t.app for t in state.tables.values())]))


def changes(before: Snapshot, after: Snapshot) -> Diagram:
    """`gitmig diff --erd`: the after side's schema with what changed since before marked."""
    from gitmig.git.snapshot import models_states

    old, new = models_states([before, after], missing_is_empty=True)
    apps = list(dict.fromkeys([*before.layout.apps, *after.layout.apps]))
    return between(old, new, list(dict.fromkeys(
        [*apps, *(t.app for t in [*old.tables.values(), *new.tables.values()])])))
