"""gitmig init: the section written once, folders created, nothing of the user's lost."""

from __future__ import annotations

import tomllib
from pathlib import Path

from .conftest import Project
from .terminal import run_in_terminal


def _project(tmp_path: Path) -> Project:
    p = Project(tmp_path / "p")
    p.write("pyproject.toml", '[project]\nname = "p"  # keep me\n')
    p.write("blog/__init__.py", "")
    p.write("blog/models.py", "")
    p.write("accounts/__init__.py", "")
    p.write("accounts/models.py", "")
    return p


def test_init_with_apps_appends_section_and_creates_folders(tmp_path: Path) -> None:
    p = _project(tmp_path)
    r = p.gitmig("init", "--app", "blog=blog.models", "--app", "accounts=accounts.models")
    assert r.exit_code == 0, r.output
    text = p.read("pyproject.toml")
    assert text.startswith('[project]\nname = "p"  # keep me\n')
    section = tomllib.loads(text)["tool"]["gitmig"]
    assert section == {
        "database": "sqlite:///db.sqlite3",
        "apps": {"blog": "blog.models", "accounts": "accounts.models"},
    }
    assert (p.root / "blog/migrations").is_dir()
    assert (p.root / "accounts/migrations").is_dir()
    assert "Created" in r.stdout and "gitmig makemigrations" in r.stdout


def test_init_discovers_models_without_apps(tmp_path: Path) -> None:
    p = _project(tmp_path)
    p.write(".venv/lib/x/models.py", "")
    r = p.gitmig("init", "--no-input", "--database", "sqlite:///app.db")
    assert r.exit_code == 0, r.output
    section = tomllib.loads(p.read("pyproject.toml"))["tool"]["gitmig"]
    assert section["apps"] == {"accounts": "accounts.models", "blog": "blog.models"}
    assert section["database"] == "sqlite:///app.db"


def test_init_creates_pyproject_when_missing(tmp_path: Path) -> None:
    p = _project(tmp_path)
    (p.root / "pyproject.toml").unlink()
    r = p.gitmig("init", "--app", "blog=blog.models")
    assert r.exit_code == 0, r.output
    assert tomllib.loads(p.read("pyproject.toml"))["tool"]["gitmig"]["apps"] == {
        "blog": "blog.models"
    }
    r = p.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    assert "No changes detected" in r.stdout


def test_init_never_overwrites_an_existing_section(tmp_path: Path) -> None:
    p = _project(tmp_path)
    assert p.gitmig("init", "--app", "blog=blog.models").exit_code == 0
    before = p.snapshot()
    r = p.gitmig("init", "--app", "accounts=accounts.models")
    assert r.exit_code == 2
    assert "already has a [tool.gitmig] section" in r.stderr
    assert r.stderr.count("\n") == 1
    assert p.snapshot() == before


def test_init_bad_input(tmp_path: Path) -> None:
    p = _project(tmp_path)
    before = p.snapshot()
    cases = {
        ("--app", "blog"): "expected LABEL=module",
        ("--app", "my app=blog.models"): "must be a Python identifier",
        ("--app", "blog=blog/models"): "is not a Python module path",
        ("--app", "blog=nothere.models"): "not found under",
        ("--app", "blog=blog.models", "--app", "blog=accounts.models"): "must be unique",
    }
    for args, message in cases.items():
        r = p.gitmig("init", *args)
        assert r.exit_code == 2, (args, r.output)
        assert message in r.stderr, (args, r.stderr)
        assert r.stderr.startswith("gitmig: error: ")
    assert p.snapshot() == before


def test_init_with_nothing_to_configure(tmp_path: Path) -> None:
    p = Project(tmp_path / "empty")
    p.root.mkdir()
    r = p.gitmig("init", "--no-input")
    assert r.exit_code == 2
    assert "pass --app LABEL=package.models" in r.stderr
    assert not (p.root / "pyproject.toml").exists()


def test_init_on_a_terminal_confirms_what_it_found(tmp_path: Path) -> None:
    p = _project(tmp_path)
    code, out = run_in_terminal(
        ["init"], p.root,
        [("Configure these apps? [Y/n]:", "n"),
         ("App as LABEL=module (empty to finish):", "blog=blog.models"),
         ("App as LABEL=module (empty to finish):", "")],
    )
    assert code == 0, out
    assert "Found models: accounts=accounts.models, blog=blog.models" in out
    assert tomllib.loads(p.read("pyproject.toml"))["tool"]["gitmig"]["apps"] == {
        "blog": "blog.models"
    }
