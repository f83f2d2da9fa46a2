"""Apps whose models module defines no table: init and makemigrations say so."""

from __future__ import annotations

from pathlib import Path

from .conftest import BASE, Project

POST = BASE + """

class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
"""


def _project(tmp_path: Path) -> Project:
    p = Project(tmp_path / "p")
    p.write("pyproject.toml", '[project]\nname = "p"\n')
    p.write("blog/__init__.py", "")
    p.write("blog/models.py", POST)
    p.write("accounts/__init__.py", "")
    p.write("accounts/models.py", "# the models live in accounts/tables.py\n")
    return p


def test_init_warns_about_an_app_without_tables(tmp_path: Path) -> None:
    p = _project(tmp_path)
    r = p.gitmig("init", "--app", "blog=blog.models", "--app", "accounts=accounts.models")
    assert r.exit_code == 0, r.output
    assert r.stderr.splitlines() == [
        "warning: app 'accounts': its models module accounts.models defines no tables; check "
        "that [tool.gitmig.apps] names the module that holds (or imports) its models"
    ]
    assert "[tool.gitmig.apps]" in p.read("pyproject.toml")


def test_init_says_nothing_when_every_app_has_tables(tmp_path: Path) -> None:
    p = _project(tmp_path)
    r = p.gitmig("init", "--app", "blog=blog.models")
    assert r.exit_code == 0, r.output
    assert "warning" not in r.output


def test_init_warns_when_the_models_cannot_be_imported(tmp_path: Path) -> None:
    p = _project(tmp_path)
    p.write("blog/models.py", "raise RuntimeError('no database settings')\n")
    r = p.gitmig("init", "--app", "blog=blog.models")
    assert r.exit_code == 0, r.output
    assert "warning: the models could not be imported:" in r.stderr
    assert "RuntimeError: no database settings" in r.stderr
    assert (p.root / "blog/migrations").is_dir()


def test_makemigrations_warns_about_a_configured_app_without_tables(tmp_path: Path) -> None:
    p = _project(tmp_path)
    assert p.gitmig("init", "--app", "blog=blog.models",
                    "--app", "accounts=accounts.models").exit_code == 0
    for _ in range(2):  # the second run is answered from the cache: it still warns
        r = p.gitmig("makemigrations")
        assert r.exit_code == 0, r.output
        assert "warning: app 'accounts': its models module accounts.models defines no " \
               "tables" in r.stderr
        assert "warning: app 'blog'" not in r.stderr
    assert p.migrations("blog") == ["0001_initial.py"]
    assert p.migrations("accounts") == []
