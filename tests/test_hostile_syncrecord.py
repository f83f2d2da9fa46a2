"""Hostile trials of the lock file's record of the models in sync
(gitmig.migrations.syncrecord): whatever a fresh clone's `makemigrations --check` answers
from the record, the full comparison (no cache, no record) must answer the same, and a
crafted record must neither crash, hang nor read outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .gitrepo import Repo

LOCK = "blog/migrations/gitmig.lock"

PYPROJECT = """
[tool.gitmig]
database = "sqlite:///db.sqlite3"

[tool.gitmig.apps]
blog = "blog.models"
"""

HEAD = """
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass

"""


def post(length: str) -> str:
    """Models whose post.title is as long as the expression `length`."""
    return HEAD + f"""
class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String({length}))
"""


def gitmig(repo: Repo, tmp_path: Path, *args: str, cwd: Path | None = None,
           cache: str | None = None, python: Path | None = None,
           **env: str) -> tuple[int, str, bool]:
    """`gitmig ARGS` in a process of its own (this Python, or `python`): (exit code,
    output, whether SQLAlchemy was imported). Each run gets an empty state cache unless
    `cache` names one."""
    folder = cache or str(tmp_path / f"cache-{len(list(tmp_path.glob('cache-*')))}")
    run = subprocess.run(
        [python or sys.executable, "-X", "importtime", "-m", "gitmig", *args],
        cwd=cwd or repo.root, env={**repo.env(), "GITMIG_CACHE_DIR": folder, **env},
        capture_output=True, text=True, timeout=120)
    imported = {line.rpartition("|")[2].strip() for line in run.stderr.splitlines()
                if line.startswith("import time:")}
    output = run.stdout + "".join(line + "\n" for line in run.stderr.splitlines()
                                  if not line.startswith("import time:"))
    return run.returncode, output, "sqlalchemy" in imported


def both(repo: Repo, tmp_path: Path, cwd: Path | None = None, python: Path | None = None,
         **env: str) -> tuple[tuple[int, str, bool], tuple[int, str]]:
    """The check with a fresh cache (the record may answer), and the full comparison."""
    fast = gitmig(repo, tmp_path, "makemigrations", "--check", cwd=cwd, python=python, **env)
    slow = gitmig(repo, tmp_path, "makemigrations", "--check", cwd=cwd, python=python,
                  GITMIG_NO_CACHE="1", **env)
    assert slow[2]
    assert "Traceback" not in fast[1] + slow[1]
    return fast, slow[:2]


def agree(repo: Repo, tmp_path: Path, cwd: Path | None = None, python: Path | None = None,
          **env: str) -> int:
    """The check and the full comparison say the same; returns the exit code."""
    fast, slow = both(repo, tmp_path, cwd=cwd, python=python, **env)
    assert fast[:2] == slow
    return slow[0]


def project(tmp_path: Path, models: str, files: dict[str, str] | None = None,
            pyproject: str = PYPROJECT, record: bool = True, python: Path | None = None,
            **env: str) -> Repo:
    """A committed project whose makemigrations wrote the first migration and, when
    `record`, the record; with `env` or `python`, in a process of its own."""
    repo = Repo(tmp_path / "proj", tmp_path / "home")
    repo.write("pyproject.toml", pyproject)
    repo.write(".gitignore", "*.sqlite3\n__pycache__/\n")
    repo.write("blog/__init__.py", "")
    repo.write("blog/models.py", models)
    for path, text in (files or {}).items():
        repo.write(path, text)
    repo.git("init", "-q", "-b", "main")
    if env or python:  # a process of its own, as the developer's shell runs it
        code, output, _ = gitmig(repo, tmp_path, "makemigrations", "--no-input",
                                 cache=str(tmp_path / "dev-cache"), python=python, **env)
    else:  # in this process: faster
        result = repo.gitmig("makemigrations", "--no-input")
        code, output = result.exit_code, result.output
    assert code == 0, output
    assert ("# models in sync" in repo.read(LOCK)) == record, repo.read(LOCK)
    repo.commit(message="initial")
    return repo


def in_sync_by_record(repo: Repo, tmp_path: Path, cwd: Path | None = None,
                      python: Path | None = None, **env: str) -> None:
    """The record answers as it stands (the premise of each trial)."""
    assert gitmig(repo, tmp_path, "makemigrations", "--check", cwd=cwd, python=python,
                  **env) == (0, "No changes detected.\n", False)


# --- what the models read besides their modules -------------------------------------------

def test_a_data_file_found_by_listing_a_folder(tmp_path: Path) -> None:
    models = HEAD + """
import json
from pathlib import Path

for _spec in sorted((Path(__file__).parent / "tables").glob("*.json")):
    _name = _spec.stem
    type(_name.title(), (Base,), {
        "__tablename__": _name,
        "id": mapped_column(sa.Integer, primary_key=True),
        "size": mapped_column(sa.Integer, default=json.loads(_spec.read_text())["size"]),
    })
"""
    repo = project(tmp_path, models, {"blog/tables/post.json": '{"size": 1}'})
    in_sync_by_record(repo, tmp_path)
    repo.write("blog/tables/comment.json", '{"size": 2}')
    assert agree(repo, tmp_path) == 1


def test_a_relative_path_opened_from_another_folder(tmp_path: Path) -> None:
    models = "import json\n" + post('json.load(open("blog/lengths.json"))["title"]')
    repo = project(tmp_path, models, {"blog/lengths.json": '{"title": 200}',
                                      "docs/blog/lengths.json": '{"title": 100}'}, record=False)
    assert agree(repo, tmp_path) == 0
    assert agree(repo, tmp_path, cwd=repo.root / "docs") == 1


@pytest.mark.parametrize("where", ["os.getcwd()", "str(Path.cwd())", "os.path.abspath('.')"])
def test_models_asking_where_they_run(tmp_path: Path, where: str) -> None:
    models = "import os\nfrom pathlib import Path\n" + post(
        f"200 if {where}.endswith('proj') else 100")
    (tmp_path / "proj" / "docs").mkdir(parents=True)
    repo = project(tmp_path, models, record=False)  # where gitmig runs: no record
    assert agree(repo, tmp_path) == 0
    assert agree(repo, tmp_path, cwd=repo.root / "docs") == 1


@pytest.mark.parametrize("machine", [
    "socket.gethostname()", "platform.node()", "os.uname().nodename"])
def test_models_asking_the_machine_name(tmp_path: Path, machine: str) -> None:
    models = "import os, platform, socket\n" + post(f"200 if {machine} else 100")
    repo = project(tmp_path, models, record=False)  # another machine has another name
    assert agree(repo, tmp_path) == 0


@pytest.mark.parametrize("models", [
    "import json\nfrom pathlib import Path\n" + post(  # the folders above are no probes
        'json.loads((Path(__file__).resolve().parent / "lengths.json").read_text())["title"]'),
    "import json, pkgutil\n" + post(
        'json.loads(pkgutil.get_data("blog", "lengths.json"))["title"]'),
    "import json\nfrom importlib import resources\n" + post(
        'json.loads(resources.files("blog").joinpath("lengths.json").read_text())["title"]'),
], ids=["path-resolve", "pkgutil", "importlib-resources"])
def test_a_data_file_beside_the_models_keeps_the_record_and_keys_it(tmp_path: Path,
                                                                    models: str) -> None:
    repo = project(tmp_path, models, {"blog/lengths.json": '{"title": 200}'})
    in_sync_by_record(repo, tmp_path)
    repo.write("blog/lengths.json", '{"title": 100}')
    assert agree(repo, tmp_path) == 1


def test_an_optional_data_file_that_appears(tmp_path: Path) -> None:
    models = "import json, os\n_F = os.path.join(os.path.dirname(__file__), 'lengths.json')\n" \
        + post('json.load(open(_F))["title"] if os.path.exists(_F) else 200')
    repo = project(tmp_path, models)
    in_sync_by_record(repo, tmp_path)
    repo.write("blog/lengths.json", '{"title": 100}')
    assert agree(repo, tmp_path) == 1


@pytest.mark.parametrize(("read", "recorded"), [
    pytest.param('int(os.getenv("TITLE_LENGTH", "200"))', True, id="os.getenv"),
    pytest.param('int(os.environ.get("TITLE_LENGTH", "200"))', True, id="os.environ.get"),
    pytest.param('100 if "TITLE_LENGTH" in os.environ else 200', True, id="in os.environ"),
    pytest.param('int(os.environb.get(b"TITLE_LENGTH", b"200"))', True, id="os.environb"),
    pytest.param('int(os.getenvb(b"TITLE_LENGTH") or 200)', True, id="os.getenvb"),
    pytest.param('int(os.environ.copy().get("TITLE_LENGTH", "200"))', False,
                 id="os.environ.copy"),
])
def test_a_variable_read_any_way(tmp_path: Path, read: str, recorded: bool) -> None:
    repo = project(tmp_path, "import os\n" + post(read), record=recorded)
    if recorded:
        assert '# models environment: ["TITLE_LENGTH"]' in repo.read(LOCK)
        in_sync_by_record(repo, tmp_path)
    assert agree(repo, tmp_path, TITLE_LENGTH="100") == 1


# --- what the import finds ------------------------------------------------------------------

def test_an_optional_dependency_installed_later(tmp_path: Path) -> None:
    models = "try:\n    import fancytypes\n    LENGTH = fancytypes.LENGTH\n" \
        "except ImportError:\n    LENGTH = 200\n" + post("LENGTH")
    repo = project(tmp_path, models)
    in_sync_by_record(repo, tmp_path)
    site = install(tmp_path / "site", "fancytypes", "1.0", "LENGTH = 100\n")
    assert agree(repo, tmp_path, PYTHONPATH=str(site)) == 1


def install(site: Path, name: str, version: str, code: str) -> Path:
    """A distribution as pip lays it out (package folder, dist-info with its RECORD) in a
    folder used as a site-packages through PYTHONPATH."""
    (site / name).mkdir(parents=True, exist_ok=True)
    (site / name / "__init__.py").write_text(code)
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "RECORD").write_text(f"{name}/__init__.py,,\n{info.name}/METADATA,,\n"
                                 f"{info.name}/RECORD,,\n")
    return site


def test_a_distribution_upgraded(tmp_path: Path) -> None:
    site = install(tmp_path / "site", "fancytypes", "1.0", "LENGTH = 200\n")
    repo = project(tmp_path, "import fancytypes\n" + post("fancytypes.LENGTH"),
                   PYTHONPATH=str(site))
    assert '"fancytypes": "fancytypes-1.0"' in repo.read(LOCK)
    in_sync_by_record(repo, tmp_path, PYTHONPATH=str(site))
    import shutil
    shutil.rmtree(site / "fancytypes-1.0.dist-info")
    install(site, "fancytypes", "2.0", "LENGTH = 100\n")
    assert agree(repo, tmp_path, PYTHONPATH=str(site)) == 1


def test_a_second_version_beside_the_recorded_one(tmp_path: Path) -> None:
    site = install(tmp_path / "site", "fancytypes", "1.0", "LENGTH = 200\n")
    repo = project(tmp_path, "import fancytypes\n" + post("fancytypes.LENGTH"),
                   PYTHONPATH=str(site))
    install(site, "fancytypes", "2.0", "LENGTH = 100\n")  # a broken upgrade left 1.0's folder
    assert agree(repo, tmp_path, PYTHONPATH=str(site)) == 1


def test_a_module_in_a_new_pythonpath_folder_shadows_the_distribution(tmp_path: Path) -> None:
    site = install(tmp_path / "site", "fancytypes", "1.0", "LENGTH = 200\n")
    repo = project(tmp_path, "import fancytypes\n" + post("fancytypes.LENGTH"),
                   PYTHONPATH=str(site))
    other = tmp_path / "other"
    other.mkdir()
    (other / "fancytypes.py").write_text("LENGTH = 100\n")
    assert agree(repo, tmp_path, PYTHONPATH=f"{other}:{site}") == 1


def test_a_module_of_the_project_shadowing_a_distribution(tmp_path: Path) -> None:
    site = install(tmp_path / "site", "fancytypes", "1.0", "LENGTH = 200\n")
    repo = project(tmp_path, "import fancytypes\n" + post("fancytypes.LENGTH"),
                   PYTHONPATH=str(site))
    repo.write("fancytypes/__init__.py", "LENGTH = 100\n")
    assert agree(repo, tmp_path, PYTHONPATH=str(site)) == 1


def test_a_namespace_package_of_the_project_beside_the_models(tmp_path: Path) -> None:
    repo = project(tmp_path, "from blog import sizes\n" + post("sizes.TITLE"),
                   {"blog/sizes.py": "TITLE = 200\n"})
    in_sync_by_record(repo, tmp_path)
    (repo.root / "blog" / "sizes.py").unlink()
    repo.write("blog/sizes/__init__.py", "TITLE = 100\n")
    assert agree(repo, tmp_path) == 1


def test_a_sitecustomize_that_changes_a_variable(tmp_path: Path) -> None:
    models = "import os\n" + post('int(os.environ.get("TITLE_LENGTH", "200"))')
    repo = project(tmp_path, models)
    site = tmp_path / "custom"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import os\nos.environ['TITLE_LENGTH'] = '100'\n")
    assert agree(repo, tmp_path, PYTHONPATH=str(site)) == 1


# --- the configuration and the migrations -------------------------------------------------

def test_a_migration_importing_a_module_the_models_do_not(tmp_path: Path) -> None:
    repo = project(tmp_path, post("200"), {"blog/legacy.py": "TITLE = 200\n"})
    path = "blog/migrations/0001_initial.py"
    text = repo.read(path)
    assert "sa.String(length=200)" in text
    repo.write(path, "from blog import legacy\n" + text.replace("sa.String(length=200)",
                                                             "sa.String(length=legacy.TITLE)"))
    (repo.root / LOCK).unlink()  # written afresh over the hand-edited migration
    repo.write("blog/models.py", post("200") + """
class Tag(Base):
    __tablename__ = "tag"
    id: Mapped[int] = mapped_column(primary_key=True)
""")
    code, output, _ = gitmig(repo, tmp_path, "makemigrations", "--no-input",
                             cache=str(tmp_path / "dev-cache"))
    assert code == 0, output
    assert "# models in sync" not in repo.read(LOCK)  # replaying reads legacy.py: no record
    repo.commit(message="a hand-edited migration, and tags")
    repo.write("blog/legacy.py", "TITLE = 100\n")
    assert agree(repo, tmp_path) == 1


def test_a_second_app_added(tmp_path: Path) -> None:
    repo = project(tmp_path, post("200"))
    repo.write("pyproject.toml", PYPROJECT + 'shop = "shop.models"\n')
    repo.write("shop/__init__.py", "")
    repo.write("shop/models.py", "from blog.models import Base, Mapped, mapped_column\n\n"
               "class Item(Base):\n    __tablename__ = 'item'\n"
               "    id: Mapped[int] = mapped_column(primary_key=True)\n")
    assert agree(repo, tmp_path) == 1


def two_apps(tmp_path: Path) -> Repo:
    shop = HEAD.replace("class Base", "from blog.models import Base\n\n\nclass _Unused") + """
class Item(Base):
    __tablename__ = "item"
    id: Mapped[int] = mapped_column(primary_key=True)
"""
    return project(tmp_path, post("200"), {"shop/__init__.py": "", "shop/models.py": shop},
                   pyproject=PYPROJECT + 'shop = "shop.models"\n')


def test_apps_reordered(tmp_path: Path) -> None:
    repo = two_apps(tmp_path)
    repo.write("pyproject.toml", PYPROJECT.replace('blog = "blog.models"',
                                                   'shop = "shop.models"\nblog = "blog.models"'))
    agree(repo, tmp_path)


def test_the_record_in_another_apps_lock(tmp_path: Path) -> None:
    repo = two_apps(tmp_path)
    text = repo.read(LOCK)
    record = "".join(line + "\n" for line in text.splitlines() if line.startswith("# models"))
    repo.write(LOCK, "".join(line + "\n" for line in text.splitlines()
                             if not line.startswith("# models")))
    repo.write("shop/migrations/gitmig.lock", repo.read("shop/migrations/gitmig.lock") + record)
    in_sync_by_record(repo, tmp_path)  # the record speaks for every app, wherever it is
    repo.write("shop/models.py", repo.read("shop/models.py") + "    name: Mapped[str]\n")
    assert agree(repo, tmp_path) == 1


@pytest.mark.parametrize("edit", [
    pytest.param(lambda t: t.replace("leaf: 0001_initial", "leaf: 0002_other"), id="leaf"),
    pytest.param(lambda t: t.replace("chain: ", "chain: 0"), id="chain"),
    pytest.param(lambda t: t + "# a note\n", id="a comment"),
    pytest.param(lambda t: t + t, id="the record twice"),
    pytest.param(lambda t: "<<<<<<< HEAD\n" + t + "=======\n" + t + ">>>>>>> other\n",
                 id="conflict markers"),
    pytest.param(lambda t: t.replace("# models read", "# models read: []\n# models read"),
                 id="a line duplicated"),
])
def test_a_lock_edited(tmp_path: Path, edit: object) -> None:
    repo = project(tmp_path, post("200"))
    repo.write(LOCK, edit(repo.read(LOCK)))  # type: ignore[operator]
    agree(repo, tmp_path)


def test_a_lock_removed(tmp_path: Path) -> None:
    repo = project(tmp_path, post("200"))
    (repo.root / LOCK).unlink()
    agree(repo, tmp_path)


def test_pythonpath_of_the_configuration(tmp_path: Path) -> None:
    repo = project(tmp_path, "import kinds\n" + post("kinds.TITLE"),
                   {"lib/kinds.py": "TITLE = 200\n"},
                   pyproject=PYPROJECT.replace("[tool.gitmig]\n",
                                               '[tool.gitmig]\npythonpath = ["lib"]\n'))
    assert '"lib/kinds.py"' in repo.read(LOCK)
    in_sync_by_record(repo, tmp_path)
    repo.write("lib/kinds.py", "TITLE = 100\n")
    assert agree(repo, tmp_path) == 1


def test_a_module_added_to_a_pythonpath_folder_ahead(tmp_path: Path) -> None:
    repo = project(tmp_path, "import kinds\n" + post("kinds.TITLE"),
                   {"lib/kinds.py": "TITLE = 200\n", "first/README": "x\n"},
                   pyproject=PYPROJECT.replace("[tool.gitmig]\n",
                                               '[tool.gitmig]\npythonpath = ["first", "lib"]\n'))
    repo.write("first/kinds.py", "TITLE = 100\n")
    assert agree(repo, tmp_path) == 1


def test_another_configuration_named_by_gitmig_config(tmp_path: Path) -> None:
    repo = project(tmp_path, post("200"))
    repo.write("ci/pyproject.toml", PYPROJECT.replace('"blog.models"', '"models"'))
    repo.write("ci/models.py", post("100"))
    other = str(repo.root / "ci" / "pyproject.toml")
    agree(repo, tmp_path, GITMIG_CONFIG=other)


def test_a_symlinked_models_folder_repointed(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "proj", tmp_path / "home")
    repo.write("real/__init__.py", "")
    repo.write("real/models.py", post("200"))
    repo.write("other/__init__.py", "")
    repo.write("other/models.py", post("100"))
    (repo.root / "blog").symlink_to("real")
    repo.write("pyproject.toml", PYPROJECT.replace('"blog.models"', '{ models = "blog.models", '
                                                   'migrations = "migrations" }'))
    repo.git("init", "-q", "-b", "main")
    assert gitmig(repo, tmp_path, "makemigrations", "--no-input",
                  cache=str(tmp_path / "dev-cache"))[0] == 0
    repo.commit(message="initial")
    lock = "migrations/gitmig.lock"
    assert "# models in sync" in repo.read(lock)
    in_sync_by_record(repo, tmp_path)
    (repo.root / "blog").unlink()
    (repo.root / "blog").symlink_to("other")
    assert agree(repo, tmp_path) == 1


def test_models_that_print_or_warn(tmp_path: Path) -> None:
    models = "import warnings\nprint('hello from the models')\n" \
        "warnings.warn('mind the models')\n" + post("200")
    repo = project(tmp_path, models, record=False, PYTHONWARNINGS="default")
    agree(repo, tmp_path, PYTHONWARNINGS="default")


def test_a_warning_made_an_error(tmp_path: Path) -> None:
    models = "import warnings\nwarnings.warn('old', DeprecationWarning)\n" + post("200")
    repo = project(tmp_path, models)  # ignored by default: nothing said, a record
    in_sync_by_record(repo, tmp_path)
    assert agree(repo, tmp_path, PYTHONWARNINGS="error") == 2


def other_python() -> str | None:
    """Another Python than this one, 3.11 or later (gitmig's oldest), if there is one."""
    import shutil

    found_on_path = [shutil.which(n) for n in ("python3.13", "python3.12", "python3.11")]
    beside = sorted(Path(sys.base_prefix).parent.glob("3.1*/bin/python3"))  # pyenv, asdf...
    for found in [*beside, *found_on_path]:
        if found is None:
            continue
        here = tuple(sys.version_info[:2])
        run = subprocess.run([found, "-c", "import sys; print(sys.executable, "
                              f"(3, 11) <= sys.version_info[:2] != {here!r})"],
                             capture_output=True, text=True)
        if run.returncode == 0 and run.stdout.split()[-1] == "True":
            return run.stdout.split()[0]  # not a version manager's shim: the real one
    return None


def test_another_python(tmp_path: Path) -> None:
    python = other_python()
    if python is None:
        pytest.skip("no other Python 3.11+ here")
    repo = project(tmp_path, post("200"))
    source = Path(__file__).resolve().parents[1]  # gitmig's code; not its dependencies
    run = subprocess.run([python, "-m", "gitmig", "makemigrations", "--check"], cwd=repo.root,
                         env={**repo.env(), "PYTHONPATH": str(source),
                              "GITMIG_CACHE_DIR": str(tmp_path / "cache-other")},
                         capture_output=True, text=True, timeout=120)
    assert run.stdout == ""  # not answered from the record: the full way, which needs click
    assert "No module named 'click'" in run.stderr


# --- crafted records ------------------------------------------------------------------------

def spy(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Environment variables that make a Python process log every file it opens or lists
    (a sitecustomize with an audit hook), and the log."""
    folder = tmp_path / "spy"
    folder.mkdir(exist_ok=True)
    log = tmp_path / "spy.log"
    (folder / "sitecustomize.py").write_text(
        "import os, sys\n"
        f"_fd = os.open({str(log)!r}, os.O_WRONLY | os.O_CREAT | os.O_APPEND)\n"
        "def _hook(event, args):\n"
        "    if event in ('open', 'os.listdir', 'os.scandir') and args "
        "and isinstance(args[0], (str, bytes)):\n"
        "        os.write(_fd, os.fsencode(args[0]) + b'\\n')\n"
        "sys.addaudithook(_hook)\n")
    return {"PYTHONPATH": str(folder)}, log


def tamper(repo: Repo, field: str, value: str) -> None:
    """The record's line `# models FIELD: ...` replaced by `value` (JSON, as written)."""
    lines = repo.read(LOCK).splitlines()
    prefix = f"# models {field}: "
    assert any(line.startswith(prefix) for line in lines)
    repo.write(LOCK, "".join((prefix + value if line.startswith(prefix) else line) + "\n"
                             for line in lines))


def refused(repo: Repo, tmp_path: Path, **env: str) -> int:
    """The check does not take the record (it imports SQLAlchemy: the full comparison),
    and says why in its own words, never with a traceback; returns its exit code."""
    code, output, imported = gitmig(repo, tmp_path, "makemigrations", "--check", **env)
    assert imported, output
    assert "Traceback" not in output
    return code


@pytest.mark.parametrize(("field", "value"), [
    pytest.param("read", '["blog/models.py\\u0000x"]', id="a NUL in a path"),
    pytest.param("read", '["blog/\\ud800.py"]', id="a lone surrogate in a path"),
    pytest.param("read", '["/etc/hostname"]', id="an absolute path"),
    pytest.param("read", '["blog/../../outside.py"]', id="a path leaving the project"),
    pytest.param("read", '["", ".", "./"]', id="empty paths"),
    pytest.param("read", '["blog/", "blog/models.py/"]', id="folders"),
    pytest.param("read", "[" * 100_000 + "]" * 100_000, id="deeply nested"),
    pytest.param("environment", '["\\ud800"]', id="a lone surrogate in a variable"),
    pytest.param("environment", '["A\\u0000B", "A=B", ""]', id="odd variable names"),
    pytest.param("imported", '{"\\ud800": "x-1"}', id="a lone surrogate in a module"),
    pytest.param("imported", '{"../../x": "x-1", "": "", "json.decoder": ""}',
                 id="odd module names"),
    pytest.param("imported", '{"sqlalchemy": "' + "x" * 100_000 + '"}', id="a long version"),
    pytest.param("probed", '["/etc/hostname", "../x", "a\\u0000b"]', id="odd probed paths"),
])
def test_a_crafted_record_is_refused_cleanly(tmp_path: Path, field: str, value: str) -> None:
    repo = project(tmp_path, post("200"))
    repo.write("blog/models.py", post("100"))
    tamper(repo, field, value)
    assert refused(repo, tmp_path) == 1


def test_a_record_naming_a_file_outside_through_a_symbolic_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not the project's\n")
    repo = project(tmp_path, post("200"))
    (repo.root / "blog" / "secret.py").symlink_to(outside / "secret.txt")
    (repo.root / "blog" / "far").symlink_to(outside)
    repo.write("blog/models.py", post("100"))
    tamper(repo, "read", '["blog/__init__.py", "blog/far/", "blog/far/secret.txt", '
           '"blog/models.py", "blog/secret.py"]')
    env, log = spy(tmp_path)
    assert refused(repo, tmp_path, **env) == 1
    seen = {os.path.realpath(line) for line in log.read_text().splitlines()}
    assert not [p for p in seen if p.startswith(str(outside))]


def test_a_record_naming_one_big_file_many_times(tmp_path: Path) -> None:
    repo = project(tmp_path, post("200"))
    (repo.root / "blog" / "big.bin").write_bytes(b"\0" * 50_000_000)
    repo.write("blog/models.py", post("100"))
    tamper(repo, "read", '["blog/__init__.py", "blog/models.py"' + ', "blog/big.bin"' * 2000
           + "]")
    assert refused(repo, tmp_path) == 1  # hashed once, not 2000 times (100 GB)


def test_a_record_naming_many_files(tmp_path: Path) -> None:
    repo = project(tmp_path, post("200"))
    repo.write("blog/models.py", post("100"))
    names = [f"blog/m{i}.py" for i in range(100_000)]
    tamper(repo, "read", '["blog/__init__.py", "blog/models.py", ' +
           ", ".join(f'"{n}"' for n in names) + "]")
    assert refused(repo, tmp_path) == 1


# --- more of what the models and the migrations may reach -----------------------------------

def test_a_migration_reading_a_variable(tmp_path: Path) -> None:
    repo = project(tmp_path, post("200"))
    path = "blog/migrations/0001_initial.py"
    repo.write(path, "import os\n" + repo.read(path).replace(
        "sa.String(length=200)", 'sa.String(length=int(os.environ.get("TITLE", "200")))'))
    (repo.root / LOCK).unlink()  # written afresh over the hand-edited migration
    repo.write("blog/models.py", post("200") + """
class Tag(Base):
    __tablename__ = "tag"
    id: Mapped[int] = mapped_column(primary_key=True)
""")
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    assert "# models in sync" not in repo.read(LOCK)  # replaying reads a variable: no record
    repo.commit(message="a hand-edited migration, and tags")
    assert agree(repo, tmp_path, TITLE="100") == 1


def test_models_asking_a_process(tmp_path: Path) -> None:
    models = "import subprocess, sys\n" + post(
        'int(subprocess.check_output([sys.executable, "-c", "print(200)"]))')
    repo = project(tmp_path, models, record=False)
    agree(repo, tmp_path)


def test_models_reflecting_a_sqlite_database(tmp_path: Path) -> None:
    import sqlite3

    models = HEAD + """
from pathlib import Path

_ENGINE = sa.create_engine(f"sqlite:///{Path(__file__).parent / 'legacy.db'}")
legacy = sa.Table("legacy", Base.metadata, autoload_with=_ENGINE)
"""
    (tmp_path / "proj" / "blog").mkdir(parents=True)
    with sqlite3.connect(tmp_path / "proj" / "blog" / "legacy.db") as db:
        db.execute("CREATE TABLE legacy (id INTEGER PRIMARY KEY)")
    repo = project(tmp_path, models, record=False)  # a database's answer: no record
    with sqlite3.connect(repo.root / "blog" / "legacy.db") as db:
        db.execute("ALTER TABLE legacy ADD COLUMN name TEXT")
    assert agree(repo, tmp_path) == 1


def test_a_project_module_as_bytecode_only(tmp_path: Path) -> None:
    import py_compile

    def compiled(length: int) -> None:
        source = tmp_path / "kinds.py"
        source.write_text(f"TITLE = {length}\n")
        py_compile.compile(str(source), cfile=str(tmp_path / "proj" / "blog" / "kinds.pyc"))

    (tmp_path / "proj" / "blog").mkdir(parents=True)
    compiled(200)
    repo = project(tmp_path, "from blog import kinds\n" + post("kinds.TITLE"))
    assert '"blog/kinds.pyc"' in repo.read(LOCK)
    in_sync_by_record(repo, tmp_path)
    compiled(100)
    assert agree(repo, tmp_path) == 1


def test_a_merge_of_two_branches(tmp_path: Path) -> None:
    repo = two_apps(tmp_path)
    repo.git("checkout", "-q", "-b", "other")
    repo.write("shop/models.py", repo.read("shop/models.py")
               + "    name: Mapped[str | None]\n")
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    repo.commit(message="shop: item.name")
    repo.git("checkout", "-q", "main")
    repo.write("blog/models.py", post("100"))
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    repo.commit(message="blog: a shorter title")
    repo.git("merge", "-q", "--no-edit", "other")
    assert agree(repo, tmp_path) == 0  # each branch's record speaks for its branch only
    repo.write("blog/models.py", post("50"))
    assert agree(repo, tmp_path) == 1


def test_a_namespace_package_shared_by_two_distributions(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for dist, module in (("ns_one", "one"), ("ns_two", "two")):
        (site / "ns").mkdir(parents=True, exist_ok=True)
        (site / "ns" / f"{module}.py").write_text("TITLE = 200\n")
        info = site / f"{dist}-1.0.dist-info"
        info.mkdir()
        (info / "RECORD").write_text(f"ns/{module}.py,,\n")
    repo = project(tmp_path, "from ns import one\n" + post("one.TITLE"), record=False,
                   PYTHONPATH=str(site))  # which distribution's is ns? no record
    (site / "ns" / "one.py").write_text("TITLE = 100\n")
    assert agree(repo, tmp_path, PYTHONPATH=str(site)) == 1


def venv(tmp_path: Path) -> Path:
    """A virtual environment of its own, which sees this one's packages (gitmig, SQLAlchemy)
    through a .pth file; its Python."""
    import site
    import venv as venvs

    folder = tmp_path / "venv"
    venvs.EnvBuilder(with_pip=False).create(folder)
    python = folder / "bin" / "python"
    packages = Path(subprocess.run([python, "-c", "import sysconfig; "
                                    "print(sysconfig.get_paths()['purelib'])"],
                                   capture_output=True, text=True, check=True).stdout.strip())
    ours = [p for p in site.getsitepackages() if p.startswith(sys.prefix)]
    (packages / "ours.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n"
                                               for p in ours))
    return python


def test_a_pth_file_putting_a_folder_ahead_of_the_distribution(tmp_path: Path) -> None:
    python = venv(tmp_path)
    packages = next((tmp_path / "venv" / "lib").glob("python3*/site-packages"))
    install(packages, "fancytypes", "1.0", "LENGTH = 200\n")
    repo = project(tmp_path, "import fancytypes\n" + post("fancytypes.LENGTH"), python=python)
    assert '"fancytypes": "fancytypes-1.0"' in repo.read(LOCK)
    in_sync_by_record(repo, tmp_path, python=python)
    ahead = tmp_path / "ahead"
    ahead.mkdir()
    (ahead / "fancytypes.py").write_text("LENGTH = 100\n")
    (packages / "zz_ahead.pth").write_text(f"import sys; sys.path.insert(0, {str(ahead)!r})\n")
    assert agree(repo, tmp_path, python=python) == 1


def test_an_editable_install_gets_no_record(tmp_path: Path) -> None:
    python = venv(tmp_path)
    packages = next((tmp_path / "venv" / "lib").glob("python3*/site-packages"))
    src = tmp_path / "src"
    (src / "fancytypes").mkdir(parents=True)
    (src / "fancytypes" / "__init__.py").write_text("LENGTH = 200\n")
    info = packages / "fancytypes-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("__editable__.fancytypes-1.0.pth,,\n")
    (packages / "__editable__.fancytypes-1.0.pth").write_text(f"{src}\n")
    repo = project(tmp_path, "import fancytypes\n" + post("fancytypes.LENGTH"), record=False,
                   python=python)  # its files may change at any time: no record
    (src / "fancytypes" / "__init__.py").write_text("LENGTH = 100\n")
    assert agree(repo, tmp_path, python=python) == 1


def test_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "blog" / os.fsdecode(b"caf\xe9")).mkdir(parents=True)  # the folders' names are
    (root / os.fsdecode(b"notes-\xff")).write_text("x\n")  # keyed, whatever their bytes
    repo = project(tmp_path, post("200"))
    in_sync_by_record(repo, tmp_path)
    repo.write("blog/models.py", post("100"))
    assert agree(repo, tmp_path) == 1
