"""`gitmig init`: the [tool.gitmig] section and the migrations folders of a new project.

An existing section is never touched; pyproject.toml keeps every byte it had and gains
the section at its end.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gitmig.atomic import write_file
from gitmig.config import LABEL_RE, MODULE_RE, default_migrations_folder, read_pyproject
from gitmig.errors import GitmigError

SKIP_DIRS = {"node_modules", "site-packages", "__pycache__", "migrations", "tests", "build", "dist"}
DEFAULT_DATABASE = "sqlite:///db.sqlite3"


@dataclass(frozen=True)
class AppSpec:
    label: str
    models: str


def parse_app(raw: str) -> AppSpec:
    label, sep, models = raw.partition("=")
    label, models = label.strip(), models.strip()
    if not sep or not label or not models:
        raise GitmigError(f"--app {raw!r}: expected LABEL=module, e.g. blog=blog.models")
    if not LABEL_RE.match(label):
        raise GitmigError(f"--app {raw!r}: the label must be a Python identifier")
    if not MODULE_RE.match(models):
        raise GitmigError(f"--app {raw!r}: {models!r} is not a Python module path")
    return AppSpec(label, models)


def module_exists(root: Path, module: str) -> bool:
    base = root / module.replace(".", "/")
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def discover(root: Path) -> list[AppSpec]:
    """models.py files (or models/ packages) under root, as apps named for their folder."""
    found: list[AppSpec] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d for d in dirs if not d.startswith((".", "venv")) and d not in SKIP_DIRS
        )
        here = Path(folder)
        if here == root:
            continue
        rel = here.relative_to(root)
        if not (here / "__init__.py").is_file():
            continue
        if "models.py" in files or (here / "models" / "__init__.py").is_file():
            label = here.name
            if LABEL_RE.match(label) and all(LABEL_RE.match(p) for p in rel.parts):
                found.append(AppSpec(label, ".".join((*rel.parts, "models"))))
    return found


def section_text(apps: list[AppSpec], database: str) -> str:
    lines = ["[tool.gitmig]", f'database = "{database}"', "", "[tool.gitmig.apps]"]
    lines += [f'{a.label} = "{a.models}"' for a in apps]
    return "\n".join(lines) + "\n"


def init_project(root: Path, apps: list[AppSpec], database: str = DEFAULT_DATABASE) -> list[Path]:
    """Write the section and create the folders; returns the migrations folders created."""
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "gitmig" in read_pyproject(pyproject).get("tool", {}):
        raise GitmigError(
            f"{pyproject} already has a [tool.gitmig] section; gitmig init never changes it "
            "(edit it by hand to add apps)"
        )
    if not apps:
        raise GitmigError(
            "no apps to configure: no models.py found here; pass --app LABEL=package.models"
        )
    labels = [a.label for a in apps]
    if len(set(labels)) != len(labels):
        raise GitmigError(f"app labels must be unique: {', '.join(labels)}")
    for a in apps:
        if not module_exists(root, a.models):
            raise GitmigError(
                f"app {a.label!r}: module {a.models!r} not found under {root} "
                "(module paths are relative to the folder holding pyproject.toml)"
            )
    if '"' in database or "\n" in database:
        raise GitmigError("--database must be a plain URL")
    old = pyproject.read_bytes() if pyproject.is_file() else b""
    glue = b"" if not old or old.endswith(b"\n\n") else (b"\n" if old.endswith(b"\n") else b"\n\n")
    new = old + glue + section_text(apps, database).encode()
    folders = [default_migrations_folder(a.models, root, ()) for a in apps]
    created: list[Path] = []
    try:
        write_file(pyproject, new)
    except OSError as exc:
        raise GitmigError(f"cannot write {exc.filename}: {exc.strerror}; nothing was "
                          "changed") from None
    for folder in folders:
        if not folder.exists():
            folder.mkdir(parents=True)
            created.append(folder)
        init = folder / "__init__.py"
        if not init.exists():
            init.write_text("")
    return created


def apps_without_tables(root: Path) -> list[str]:
    """Warnings for the apps just written whose models define no table (or fail to import).

    init never fails for this: the section is written, and the user fixes the module path
    or the models next.
    """
    from gitmig.actions.makemigrations import apps_without_tables as empty_apps
    from gitmig.config import load_config
    from gitmig.schema.models import models_state

    config = load_config(root / "pyproject.toml")
    try:
        state = models_state(config)
    except GitmigError as exc:
        return [f"the models could not be imported: {exc.render()}"]
    return empty_apps(config, state, list(config.apps))
