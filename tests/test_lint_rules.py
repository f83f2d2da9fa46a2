"""Every lint rule with a migration that triggers it and one that does not, as plain
values: the state before, the operations, the database; no files, git or database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from gitmig import ops
from gitmig.lint.engine import judge
from gitmig.lint.model import RULES, Migration
from gitmig.schema.state import SchemaState

Post = ops.CreateTable(
    "post",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("title", sa.String(200), nullable=True),
    sa.Column("views", sa.Integer(), nullable=False),
    sa.Column("author_id", sa.Integer(), nullable=True),
    sa.Column("kind", sa.Enum("draft", "live", name="kind"), nullable=True),
)
Author = ops.CreateTable("author", sa.Column("id", sa.Integer(), primary_key=True))
Checked = ops.AddConstraint("post", sa.CheckConstraint("title IS NOT NULL", name="ck_title"))


def state(*operations: ops.Operation) -> SchemaState:
    s = SchemaState()
    for op in operations:
        s = op.state_forwards(s, "blog")
    return s


@dataclass
class Running:
    """The models of the running code, as plain state."""

    models: SchemaState
    label: str = "main (abc1234)"

    def state(self) -> SchemaState:
        return self.models

    def model_of(self, table_key: str) -> str | None:
        return {"post": "blog.models.Post"}.get(table_key)


def rules(operations: Sequence[ops.Operation], database: str = "postgresql", *,
          before: Sequence[ops.Operation] = (Post, Author), running: Running | None = None,
          atomic: bool = True, lock_timeout: float | None = 2.0) -> list[str]:
    m = Migration("blog", "0002_x", "/nowhere/0002_x.py", tuple(operations),
                  state(*before), atomic=atomic, lock_timeout=lock_timeout)
    return [f.rule for f in judge([m], database, running=running)]


def message(operations: Sequence[ops.Operation], rule: str, database: str = "postgresql",
            running: Running | None = None) -> str:
    m = Migration("blog", "0002_x", "/nowhere/0002_x.py", tuple(operations),
                  state(Post, Author), lock_timeout=2.0)
    return next(f.message for f in judge([m], database, running=running) if f.rule == rule)


STR100 = sa.String(100)
RUNNING = Running(state(Post, Author))

# (rule, database, triggering operations, harmless operations, running models or None)
CASES = [
    ("drop-table", "sqlite", [ops.DropTable("author")],
     [ops.CreateTable("tmp", sa.Column("id", sa.Integer(), primary_key=True)),
      ops.DropTable("tmp")], None),
    ("drop-column", "sqlite", [ops.DropColumn("post", "views")],
     [ops.AddColumn("post", sa.Column("x", sa.Integer()))], None),
    ("narrow-type", "sqlite", [ops.AlterColumn("post", "title", type_=STR100)],
     [ops.AlterColumn("post", "title", type_=sa.String(300))], None),
    ("remove-enum-value", "sqlite", [ops.AlterEnum("kind", ["draft"])],
     [ops.AlterEnum("kind", ["draft", "live", "gone"])], None),
    ("table-still-mapped", "sqlite", [ops.RenameTable("post", "article")],
     [ops.DropTable("author")], Running(state(Post))),
    ("column-still-mapped", "sqlite", [ops.DropColumn("post", "title")],
     [ops.DropColumn("post", "author_id")],
     Running(state(Post, ops.DropColumn("post", "author_id")))),
    ("not-null-no-default", "sqlite",
     [ops.AddColumn("post", sa.Column("score", sa.Integer(), nullable=False), backfill=0)],
     [ops.AddColumn("post", sa.Column("score", sa.Integer(), nullable=False,
                                      server_default="0"))], RUNNING),
    ("set-not-null", "sqlite", [ops.AlterColumn("post", "title", nullable=False)],
     [ops.AlterColumn("post", "views", nullable=False)], RUNNING),
    ("identifier-too-long", "postgresql",
     [ops.AddColumn("post", sa.Column("x" * 64, sa.Integer()))],
     [ops.AddColumn("post", sa.Column("x" * 63, sa.Integer()))], None),
    ("irreversible", "sqlite", [ops.RunSQL("UPDATE post SET views = 0")],
     [ops.RunSQL("UPDATE post SET views = 0", reverse_sql=[])], None),
    ("pg-index-not-concurrent", "postgresql", [ops.CreateIndex("ix_t", "post", ["title"])],
     [ops.CreateIndex("ix_t", "post", ["title"], concurrently=True)], None),
    ("pg-constraint-not-valid", "postgresql",
     [ops.AddConstraint("post", sa.ForeignKeyConstraint(["author_id"], ["author.id"],
                                                        name="fk_a"))],
     [ops.AddConstraint("post", sa.ForeignKeyConstraint(["author_id"], ["author.id"],
                                                        name="fk_a"), validate=False)], None),
    ("pg-unique-constraint", "postgresql",
     [ops.AddConstraint("post", sa.UniqueConstraint("title", name="uq_t"))],
     [ops.CreateIndex("uq_t", "post", ["title"], unique=True, concurrently=True)], None),
    ("pg-set-not-null", "postgresql", [ops.AlterColumn("post", "title", nullable=False)],
     [Checked, ops.AlterColumn("post", "title", nullable=False)], None),
    ("pg-type-rewrite", "postgresql", [ops.AlterColumn("post", "views", type_=sa.BigInteger())],
     [ops.AlterColumn("post", "title", type_=sa.Text())], None),
    ("pg-no-lock-timeout", "postgresql", [ops.DropColumn("post", "views")],
     [ops.CreateIndex("ix_t", "post", ["title"], concurrently=True)], None),
    ("pg-ddl-with-backfill", "postgresql",
     [ops.AddColumn("post", sa.Column("x", sa.Integer())), ops.RunSQL("UPDATE post SET x = 1")],
     [ops.RunSQL("UPDATE post SET views = 1")], None),
    ("mysql-table-copy", "mysql", [ops.AlterColumn("post", "views", type_=sa.BigInteger())],
     [ops.CreateIndex("ix_t", "post", ["title"])], None),
    ("mysql-string-no-length", "mysql", [ops.AddColumn("post", sa.Column("x", sa.String()))],
     [ops.AddColumn("post", sa.Column("x", sa.String(20)))], None),
    ("sqlite-rebuild", "sqlite", [ops.AlterColumn("post", "views", server_default="0")],
     [ops.AddColumn("post", sa.Column("x", sa.Integer()))], None),
]


def test_every_rule_has_a_case() -> None:
    assert sorted(c[0] for c in CASES) == sorted(RULES)


# Cases by number: no server is involved, so the fast run keeps them (conftest marks a
# test whose parameters name a server database slow).
@pytest.mark.parametrize("case", range(len(CASES)), ids=[c[0] for c in CASES])
def test_rule_triggers_and_the_safe_form_does_not(case: int) -> None:
    rule, database, bad, good, running = CASES[case]
    timeout = None if rule == "pg-no-lock-timeout" else 2.0
    assert rule in rules(bad, database, running=running, lock_timeout=timeout)
    assert rule not in rules(good, database, running=running, lock_timeout=timeout)


def test_postgresql_rules_stay_on_postgresql() -> None:
    for database in ("sqlite", "mysql"):
        found = rules([ops.CreateIndex("ix_t", "post", ["title"])], database, lock_timeout=None)
        assert not [r for r in found if r.startswith("pg-")]


def test_a_table_this_branch_creates_is_not_busy() -> None:
    """Indexing a table created by a migration not yet released locks nothing that runs."""
    create = Migration("blog", "0002_a", "/n/0002_a.py",
                       (ops.CreateTable("tag", sa.Column("id", sa.Integer(), primary_key=True),
                                        sa.Column("name", sa.String(20))),), state(Post))
    index = Migration("blog", "0003_b", "/n/0003_b.py",
                      (ops.CreateIndex("ix_tag", "tag", ["name"]),),
                      create.operations[0].state_forwards(create.before, "blog"))
    assert [f.rule for f in judge([create, index], "postgresql")] == []
    released = [f.rule for f in judge([index], "postgresql")]
    assert released == ["pg-index-not-concurrent", "pg-no-lock-timeout"]


def test_running_code_findings_name_the_model_and_column() -> None:
    text = message([ops.DropColumn("post", "title")], "column-still-mapped", "sqlite", RUNNING)
    assert text == ("drops column post.title, which model blog.models.Post "
                    "(the models at main (abc1234)) still maps")


def test_without_the_running_models_the_running_code_rules_stay_quiet() -> None:
    found = rules([ops.DropColumn("post", "title")], "sqlite")
    assert "column-still-mapped" not in found and "drop-column" in found


def test_a_check_not_yet_validated_does_not_spare_the_scan() -> None:
    not_valid = ops.AddConstraint("post", sa.CheckConstraint("title IS NOT NULL", name="ck_t"),
                                  validate=False)
    set_not_null = ops.AlterColumn("post", "title", nullable=False)
    assert "pg-set-not-null" in rules([not_valid, set_not_null])
    assert "pg-set-not-null" not in rules(
        [not_valid, ops.ValidateConstraint("post", "ck_t"), set_not_null])


def test_a_backfill_before_any_ddl_or_a_new_column_default_is_no_long_lock() -> None:
    column = ops.AddColumn("post", sa.Column("x", sa.Integer(), nullable=False), backfill=0)
    assert "pg-ddl-with-backfill" not in rules([column])
    update = ops.RunSQL("UPDATE post SET views = 1", reverse_sql=[])
    assert "pg-ddl-with-backfill" not in rules([update, ops.DropColumn("post", "title")])
    assert "pg-ddl-with-backfill" in rules([ops.DropColumn("post", "title"), update])


def test_narrowing_words() -> None:
    text = message([ops.AlterColumn("post", "views", type_=sa.SmallInteger())], "narrow-type",
                   "sqlite")
    assert text.endswith("Integer values beyond SmallInteger's range fail")


def test_a_unique_constraint_cannot_be_added_not_valid() -> None:
    from gitmig.errors import GitmigError

    with pytest.raises(GitmigError, match="cannot be added NOT VALID"):
        ops.AddConstraint("post", sa.UniqueConstraint("title"), validate=False)


def test_runsql_with_nothing_to_undo_writes_itself() -> None:
    """reverse_sql=[] (what the irreversible rule suggests) has a source, as any operation."""
    assert repr(ops.RunSQL("UPDATE post SET views = 0", reverse_sql=[])) == (
        'ops.RunSQL("UPDATE post SET views = 0", reverse_sql=[])')
