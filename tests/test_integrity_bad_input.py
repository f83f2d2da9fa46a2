"""Bad input that used to end in a traceback (issue 11): one line and exit 2 instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Project
from .gitrepo import Repo, make_repo


@pytest.mark.parametrize("args", [("status",), ("migrate",), ("makemigrations", "--check"),
                                  ("showmigrations",)])
def test_a_non_utf8_byte_in_pyproject_toml(project: Project, args: tuple[str, ...]) -> None:
    path = project.root / "pyproject.toml"
    path.write_bytes(path.read_bytes().replace(b'name = "proj"', b'name = "pr\xffoj"'))
    before = project.snapshot()
    result = project.gitmig(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"gitmig: error: {path} is not valid TOML: it is not UTF-8 text "
                             "(byte 0xff at offset 20); save it as UTF-8\n")
    assert project.snapshot() == before


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "proj", tmp_path / "home")


def test_head_pointing_at_an_invalid_ref_name(repo: Repo) -> None:
    (repo.root / ".git/HEAD").write_text("ref: refs/heads/bad..name\n")
    status = repo.gitmig("status")
    assert status.exit_code in (0, 1), status.output
    assert "Traceback" not in status.output
    for args in (("diff", "HEAD"), ("makemigrations", "--rev", "HEAD")):
        result = repo.gitmig(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.endswith(
            "points at 'refs/heads/bad..name', which is not a valid branch name; check out "
            "a branch (`git checkout main`)\n"), (args, result.output)
