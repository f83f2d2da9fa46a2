"""The child process that imports a snapshot's models (and replays its migrations).

Run by gitmig.git.snapshot as `python -P -m gitmig.git.worker PYPROJECT [--replay]
[--missing-is-empty] [--section JSON]` on an exported copy of a snapshot, so that no file
of another revision is ever executed in the gitmig process. Its answer goes to the file
descriptor that was stdout; stdout itself becomes stderr first, so that whatever the
user's code prints (even with os.write(1, ...)) never mixes with it. The answer is lines:
`app LABEL` before each app's models are imported (so a time limit can name the app that
did not finish), then one JSON object, {"models": state, "replayed": state} or {"error":
{"stage", "message"}}, then the line DONE. Without DONE the import did not finish: the
models exited, crashed or were killed, and gitmig says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

DONE = "gitmig-worker: done"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitmig.git.worker")
    parser.add_argument("pyproject")
    parser.add_argument("--replay", action="store_true")
    parser.add_argument("--missing-is-empty", action="store_true")
    parser.add_argument("--section", help="[tool.gitmig] as JSON, when the file has none")
    args = parser.parse_args(argv)

    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the models' own output, at any level, goes to stderr
    sys.stdout = sys.stderr
    sys.dont_write_bytecode = True  # the exported copy stays exactly the snapshot's files
    try:
        result = run(args, out)
    except BaseException as exc:  # sys.exit() or Ctrl-C in the user's code: an answer too
        result = {"error": {"stage": "models",
                            "message": f"the models raised {type(exc).__name__}: {exc}"}}
    out.write(json.dumps(result) + "\n" + DONE + "\n")
    out.flush()
    return 0


def run(args: argparse.Namespace, out: IO[str] | None = None) -> dict[str, Any]:
    from gitmig.config import load_config, parse_section
    from gitmig.errors import GitmigError

    stage = "models"
    try:
        path = Path(args.pyproject)
        if args.section:
            config = parse_section(json.loads(args.section), path)
        else:
            config = load_config(path)

        if not args.missing_is_empty:
            cached = _cached(config, args.replay)
            if cached is not None:
                return cached
        if out is not None:
            _announce_apps(out)

        from gitmig.migrations.loader import load_graph
        from gitmig.migrations.replay import Replayer
        from gitmig.schema.models import models_state, project_paths
        from gitmig.schema.stateio import to_json

        if args.missing_is_empty:
            for p in reversed(project_paths(config)):
                sys.path.insert(0, p)
            present = {k: a for k, a in config.apps.items() if _exists(a.models)}
            config = replace(config, apps=present)
        result: dict[str, Any] = {"models": to_json(models_state(config))}
        if args.replay:
            stage = "migrations"
            result["replayed"] = to_json(Replayer(load_graph(config)).state())
        return result
    except GitmigError as exc:
        return {"error": {"stage": stage, "message": exc.render()}}


def _cached(config: Any, replay: bool) -> dict[str, Any] | None:
    """The answer from gitmig.cache alone, when the models' state (and the replayed one)
    is there for exactly these files: what models_state() and Replayer.state() would
    return first, without importing SQLAlchemy or the models module (so no app is
    announced). None when anything misses: then the full run."""
    from gitmig.migrations import statecache
    from gitmig.schema.state import SchemaState
    from gitmig.schema.stateio import to_json

    models = statecache.models_state(config.path)
    if not isinstance(models, SchemaState):
        return None
    result: dict[str, Any] = {"models": to_json(models)}
    if replay:
        from gitmig.migrations.loader import load_graph

        replayed = statecache.replayed_state(load_graph(config))
        if not isinstance(replayed, SchemaState):
            return None
        result["replayed"] = to_json(replayed)
    return result


def _announce_apps(out: IO[str]) -> None:
    """Say which app's models are being imported, before importing them."""
    from gitmig.schema import models

    import_app = models._import_app

    def announced(app: Any, roots: tuple[str, ...]) -> Any:
        out.write(f"app {app.label}\n")
        out.flush()
        return import_app(app, roots)

    models._import_app = announced


def _exists(module: str) -> bool:
    """Whether a models module is there to import; an error inside it counts as there."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError as exc:
        return not (exc.name and module.startswith(exc.name))
    except Exception:
        return True


def last_app(stdout: bytes) -> str | None:
    """The app whose models the child was importing last (its `app LABEL` lines)."""
    apps = [line[4:] for line in stdout.decode(errors="replace").splitlines()
            if line.startswith("app ")]
    return apps[-1] if apps else None


def answer(stdout: bytes) -> dict[str, Any] | None:
    """The child's JSON answer, only when it said it finished (its last line is DONE)."""
    lines = stdout.decode(errors="replace").splitlines()
    if len(lines) < 2 or lines[-1] != DONE:
        return None
    try:
        result = json.loads(lines[-2])
    except ValueError:
        return None
    return result if isinstance(result, dict) else None


if __name__ == "__main__":
    sys.exit(main())
