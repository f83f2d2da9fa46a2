"""An Alembic project beside gitmig's: its configuration, versions folder and heads.

Alembic is configured by an `alembic.ini` (or a `[tool.alembic]` section of
pyproject.toml) next to pyproject.toml; its revisions live in `versions/` under the
script location. gitmig only reads them (to know the head a database must be at before
`gitmig adopt` takes it over) and never changes them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from gitmig.config import read_pyproject
from gitmig.errors import GitmigError

VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class AlembicProject:
    config_file: Path  # alembic.ini, or the pyproject.toml holding [tool.alembic]
    versions: tuple[Path, ...]  # the folders of its revision files
    heads: tuple[str, ...]  # the latest revisions (several on unmerged branches)

    def describe(self, root: Path) -> str:
        def rel(p: Path) -> str:
            try:
                return str(p.relative_to(root))
            except ValueError:
                return str(p)

        folders = ", ".join(rel(v) for v in self.versions)
        heads = ", ".join(self.heads) or "none (no revisions)"
        return f"{rel(self.config_file)} (revisions in {folders}), head {heads}"


def find_alembic(root: Path) -> AlembicProject | None:
    """The Alembic project configured in `root`, if there is one."""
    ini = root / "alembic.ini"
    pyproject = root / "pyproject.toml"
    toml = pyproject.is_file() and "alembic" in read_pyproject(pyproject).get("tool", {})
    if not ini.is_file() and not toml:
        return None
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    where = ini if ini.is_file() else pyproject
    try:
        cfg = AlembicConfig(str(ini) if ini.is_file() else None,
                            toml_file=str(pyproject) if toml else None,
                            stdout=io.StringIO())
        location = cfg.get_alembic_option("script_location") if toml else None
        location = location or cfg.get_main_option("script_location")
        if not location:
            raise GitmigError(f"{where} names no script_location (Alembic's folder)")
        folder = Path(location)
        if not folder.is_absolute():  # Alembic reads it from the current folder
            folder = root / folder
        cfg.set_main_option("script_location", str(folder))
        script = ScriptDirectory.from_config(cfg)
        heads = tuple(sorted(script.get_heads()))
        versions = (Path(script.versions),)
    except GitmigError:
        raise
    except Exception as exc:
        raise GitmigError(f"cannot read the Alembic project of {where}: {exc}",
                          hint="check that `alembic heads` works in this folder") from None
    return AlembicProject(where, versions, heads)
