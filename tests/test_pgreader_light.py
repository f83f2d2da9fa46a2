"""The libpq history reader (gitmig.db.history.pgreader) starts light: SQLAlchemy's version
read from its `__version__` line rather than through importlib.metadata, and libpq opened
by its name rather than looked up by ctypes.util (which runs `ldconfig -p`); each
shortcut agrees with the slow way."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from ctypes.util import find_library

import pytest

from gitmig.db.history import pgreader

from .conftest import Project
from .test_migrate import migrate, two_migrations


def test_sqlalchemy_version_is_what_its_metadata_says() -> None:
    major, minor = importlib.metadata.version("SQLAlchemy").split(".")[:2]
    assert pgreader._sqlalchemy_version() == (int(major), int(minor))


def test_libpq_is_found_where_ctypes_util_finds_it() -> None:
    assert (pgreader._libpq() is None) == (find_library("pq") is None)


@pytest.mark.slow
def test_postgresql_listing_and_nothing_to_do_start_light(project: Project,
                                                          postgres_url: str) -> None:
    two_migrations(project)
    migrate(project, postgres_url)
    for args in (("showmigrations",), ("migrate",)):
        r = subprocess.run([sys.executable, "-X", "importtime", "-m", "gitmig", *args,
                            "--database", postgres_url], cwd=project.root,
                           capture_output=True, text=True)
        imported = {line.rpartition("|")[2].strip() for line in r.stderr.splitlines()
                    if line.startswith("import time:")}
        assert r.returncode == 0, r.stderr
        assert r.stdout == project.gitmig(*args, "--database", postgres_url).stdout
        assert not imported & {"importlib.metadata", "ctypes.util", "subprocess", "email",
                               "sqlalchemy"}, r.stderr
