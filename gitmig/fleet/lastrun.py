"""Which targets failed in the fleet's last run on this machine, and why.

A failed migration leaves no trace in a database with transactional DDL (it is rolled
back), yet `showmigrations --fleet` should say that a target failed. So each run keeps a
small note per fleet in gitmig's cache folder: failures are added, a target that later
succeeds is struck. It only informs; what is applied is read from each target.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from gitmig.config import Config

if TYPE_CHECKING:
    from gitmig.fleet.runner import Result


def _path(config: Config, name: str) -> Path:
    from gitmig.cache import cache_dir

    project = hashlib.sha256(str(config.path).encode()).hexdigest()[:16]
    return cache_dir() / f"fleet-{project}-{hashlib.sha256(name.encode()).hexdigest()[:12]}.json"


def failures(config: Config, name: str) -> dict[str, str]:
    """Target key → the error of its last failed run."""
    try:
        data = json.loads(_path(config, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v.get("error", "")) for k, v in data.items() if isinstance(v, dict)}


def record(config: Config, name: str, results: Iterable[Result]) -> None:
    from gitmig.atomic import write_file

    path = _path(config, name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    changed = False
    for r in results:
        if r.ok:
            changed |= data.pop(r.target.key, None) is not None
        else:
            data[r.target.key] = {"error": r.error or "", "at": time.time()}
            changed = True
    if not changed:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, json.dumps(data, indent=1, sort_keys=True), durable=False)
    except OSError:
        pass  # a note only: a read-only cache folder costs the note, not the run
