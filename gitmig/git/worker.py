"""The child process that imports a snapshot's models (and replays its migrations).

Run by gitmig.git.snapshot as `python -P -m gitmig.git.worker PYPROJECT [--replay]
[--missing-is-empty] [--section JSON]` on an exported copy of a snapshot, so that no file
of another revision is ever executed in the gitmig process. Prints one JSON object on
stdout: {"models": state, "replayed": state} or {"error": {"stage", "message"}}; anything
the user's code prints goes to stderr. Exit status 0 unless the worker itself breaks.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitmig.git.worker")
    parser.add_argument("pyproject")
    parser.add_argument("--replay", action="store_true")
    parser.add_argument("--missing-is-empty", action="store_true")
    parser.add_argument("--section", help="[tool.gitmig] as JSON, when the file has none")
    args = parser.parse_args(argv)

    out = sys.stdout
    sys.stdout = sys.stderr  # the models' own prints must not corrupt the answer
    sys.dont_write_bytecode = True  # the exported copy stays exactly the snapshot's files
    out.write(json.dumps(run(args)))
    out.flush()
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    from gitmig.config import load_config, parse_section
    from gitmig.errors import GitmigError

    stage = "models"
    try:
        path = Path(args.pyproject)
        if args.section:
            config = parse_section(json.loads(args.section), path)
        else:
            config = load_config(path)

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


def _exists(module: str) -> bool:
    """Whether a models module is there to import; an error inside it counts as there."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError as exc:
        return not (exc.name and module.startswith(exc.name))
    except Exception:
        return True


if __name__ == "__main__":
    sys.exit(main())
