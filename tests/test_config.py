"""Finding and reading [tool.gitmig], as a user meets it from any folder of a project."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitmig.config import load_config
from gitmig.errors import GitmigError

from .conftest import BASE, Project

POST = BASE + """

class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
"""


def test_found_from_a_subfolder_and_paths_are_relative_to_pyproject(project: Project) -> None:
    project.write("blog/models.py", POST)
    sub = project.root / "blog" / "deep"
    sub.mkdir()
    r = project.gitmig("makemigrations", cwd=sub)
    assert r.exit_code == 0, r.output
    assert project.migrations("blog") == ["0001_initial.py"]
    assert not (sub / "blog").exists()


def test_nearest_pyproject_without_section_is_skipped(project: Project) -> None:
    project.write("blog/models.py", POST)
    project.write("tools/pyproject.toml", "[project]\nname = 'tools'\n")
    r = project.gitmig("makemigrations", cwd=project.root / "tools")
    assert r.exit_code == 0, r.output
    assert project.migrations("blog") == ["0001_initial.py"]


def test_config_option_points_elsewhere(project: Project, tmp_path: Path) -> None:
    project.write("blog/models.py", POST)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = project.gitmig("makemigrations", "--config", str(project.root / "pyproject.toml"),
                       cwd=elsewhere)
    assert r.exit_code == 0, r.output
    assert project.migrations("blog") == ["0001_initial.py"]
    r = project.gitmig("--config", str(project.root), "makemigrations", "--check", cwd=elsewhere)
    assert r.exit_code == 0, r.output


def test_no_configuration_anywhere(tmp_path: Path) -> None:
    p = Project(tmp_path)
    r = p.gitmig("makemigrations")
    assert r.exit_code == 2
    assert r.stderr.startswith("gitmig: error: no pyproject.toml with a [tool.gitmig] section")
    assert "gitmig init" in r.stderr
    assert "Traceback" not in r.output


def test_missing_config_file(project: Project) -> None:
    r = project.gitmig("makemigrations", "--config", "nope/pyproject.toml")
    assert r.exit_code == 2
    assert r.stderr == "gitmig: error: config file nope/pyproject.toml does not exist\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.gitmig\n", "is not valid TOML"),
        ("[tool.gitmig]\ndatabase = 3\n[tool.gitmig.apps]\nblog = 'blog.models'\n",
         "database in"),
        ("[tool.gitmig]\n", "no apps in [tool.gitmig.apps]"),
        ("[tool.gitmig.apps]\n'my app' = 'blog.models'\n", "must be a Python identifier"),
        ("[tool.gitmig.apps]\nblog = 'blog/models.py'\n", "is not a Python module path"),
        ("[tool.gitmig.apps]\nblog = 3\n", "must be \"module\" or"),
        ("[tool.gitmig]\npythonpath = 'src'\n[tool.gitmig.apps]\nblog = 'blog.models'\n",
         "pythonpath"),
    ],
)
def test_broken_configuration_is_one_line_and_exit_2(
    project: Project, text: str, message: str
) -> None:
    project.write("pyproject.toml", text)
    before = project.snapshot()
    r = project.gitmig("makemigrations")
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("gitmig: error: ")
    assert message in r.stderr
    assert r.stderr.count("\n") == 1
    assert project.snapshot() == before


def test_database_url_precedence_and_sqlite_paths(project: Project,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(project.root / "pyproject.toml")
    assert config.database_url() == f"sqlite:///{project.root / 'db.sqlite3'}"
    monkeypatch.setenv("GITMIG_DATABASE_URL", "sqlite:///other.db")
    assert config.database_url() == f"sqlite:///{project.root / 'other.db'}"
    assert config.database_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert config.database_url("sqlite:////abs/x.db") == "sqlite:////abs/x.db"


def test_no_database_anywhere(project: Project) -> None:
    project.write("pyproject.toml", "[tool.gitmig.apps]\nblog = 'blog.models'\n")
    config = load_config(project.root)
    with pytest.raises(GitmigError, match="no database configured"):
        config.database_url()


def test_explicit_migrations_folder_and_src_layout(tmp_path: Path) -> None:
    p = Project(tmp_path / "p")
    p.write(
        "pyproject.toml",
        """
        [tool.gitmig]
        pythonpath = ["src"]
        [tool.gitmig.apps]
        blog = "blog.models"
        accounts = { models = "accounts.models", migrations = "db/accounts" }
        """,
    )
    p.write("src/blog/__init__.py", "")
    p.write("src/blog/models.py", POST)
    p.write("src/accounts/__init__.py", "")
    p.write("src/accounts/models.py", "from blog.models import Base\n")
    r = p.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    assert (p.root / "src/blog/migrations/0001_initial.py").is_file()
    assert not (p.root / "db/accounts").exists()  # accounts has no tables: nothing to write
    config = load_config(p.root)
    assert config.apps["accounts"].migrations == p.root / "db" / "accounts"
