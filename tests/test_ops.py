"""Each operation: what it does to a state, how it reads, its name, its reverse, its source."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from gitmig import ops
from gitmig.errors import GitmigError
from gitmig.schema.state import Check, ForeignKey, Index, SchemaState, ServerDefault, Unique


def base_state() -> SchemaState:
    """author <- post (FK), with an index, a unique and a check on post, in app blog."""
    state = SchemaState()
    for op in [
        ops.CreateTable(
            "author",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("name", sa.String(100), nullable=False, comment="shown"),
            comment="people",
        ),
        ops.CreateTable(
            "post",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("title", sa.String(200), nullable=False),
            sa.Column("views", sa.Integer(), server_default="0", nullable=False),
            sa.Column("author_id", sa.Integer(), sa.ForeignKey("author.id", ondelete="CASCADE")),
            sa.UniqueConstraint("title", name="uq_post_title"),
            sa.CheckConstraint("views >= 0", name="ck_post_views"),
            sa.Index("ix_post_views", "views"),
        ),
        ops.CreateTable(
            "entry",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("code", sa.String(10)),
            sa.UniqueConstraint("code"),
            sa.CheckConstraint("id > 0"),
            schema="audit",
        ),
    ]:
        state = op.state_forwards(state, "blog")
    return state


def rebuilt(op: ops.Operation) -> ops.Operation:
    """The operation as a migration file would create it: its source text, evaluated."""
    namespace: dict[str, Any] = {"sa": sa, "ops": ops, "postgresql": postgresql}
    if isinstance(op, ops.RunPython):
        namespace[op.code.__name__] = op.code
        if op.reverse_code is not None:
            namespace[op.reverse_code.__name__] = op.reverse_code
    text = op.source().render()
    result = eval(text, namespace)
    assert isinstance(result, ops.Operation)
    return result


def forwards_then_back(op: ops.Operation, state: SchemaState) -> SchemaState:
    after = op.state_forwards(state, "blog")
    reverse = op.reverse(state)
    return reverse.state_forwards(after, "blog")


def fill(connection: Any) -> None:
    """RunPython code for the tests."""


def unfill(connection: Any) -> None:
    """RunPython reverse for the tests."""


# (id, operation, describe(), fragment(), destructive)
CASES: list[tuple[str, ops.Operation, str, str, bool]] = [
    (
        "create_table",
        ops.CreateTable(
            "tag",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("post_id", sa.Integer(), sa.ForeignKey("post.id", name="fk_tag_post")),
            sa.Column("label", sa.Enum("a", "b", name="label"), server_default=sa.text("'a'")),
            sa.Index("ix_tag_label", "label", "post_id", unique=True),
            comment="tags",
        ),
        "Create table tag",
        "create_tag",
        False,
    ),
    (
        "create_table_in_schema",
        ops.CreateTable("log", sa.Column("id", sa.Integer(), primary_key=True), schema="audit"),
        "Create table audit.log",
        "create_log",
        False,
    ),
    ("drop_table", ops.DropTable("post"), "Drop table post", "drop_post", True),
    (
        "drop_table_in_schema",
        ops.DropTable("entry", schema="audit"),
        "Drop table audit.entry",
        "drop_entry",
        True,
    ),
    (
        "rename_table",
        ops.RenameTable("author", "writer"),
        "Rename table author to writer",
        "rename_author_to_writer",
        False,
    ),
    (
        "add_column",
        ops.AddColumn("post", sa.Column("body", sa.Text(), comment="the text")),
        "Add column body to post",
        "post_add_body",
        False,
    ),
    (
        "add_column_with_fk_and_backfill",
        ops.AddColumn(
            "post",
            sa.Column("editor_id", sa.Integer(), sa.ForeignKey("author.id", onupdate="CASCADE"),
                      nullable=False),
            backfill=1,
        ),
        "Add column editor_id to post",
        "post_add_editor_id",
        False,
    ),
    (
        "add_column_dialect_type",
        ops.AddColumn("post", sa.Column("meta", postgresql.JSONB())),
        "Add column meta to post",
        "post_add_meta",
        False,
    ),
    (
        "drop_column",
        ops.DropColumn("author", "name"),
        "Drop column name from author",
        "author_drop_name",
        True,
    ),
    (
        "drop_fk_column",
        ops.DropColumn("post", "author_id"),
        "Drop column author_id from post",
        "post_drop_author_id",
        True,
    ),
    (
        "alter_column_type",
        ops.AlterColumn("post", "title", type_=sa.String(300)),
        "Alter column post.title: type sa.String(length=300)",
        "post_alter_title",
        False,
    ),
    (
        "alter_column_everything",
        ops.AlterColumn(
            "post",
            "views",
            type_=sa.BigInteger(),
            nullable=True,
            server_default=None,
            comment="how many",
            autoincrement=False,
        ),
        "Alter column post.views: type sa.BigInteger(), NULL allowed, server default removed, "
        "comment 'how many', autoincrement False",
        "post_alter_views",
        False,
    ),
    (
        "alter_column_server_default_sql",
        ops.AlterColumn("post", "views", server_default=sa.text("1 + 1")),
        "Alter column post.views: server default 1 + 1",
        "post_alter_views",
        False,
    ),
    (
        "alter_column_not_null_with_backfill",
        ops.AlterColumn("post", "author_id", nullable=False, backfill=1),
        "Alter column post.author_id: NOT NULL",
        "post_alter_author_id",
        False,
    ),
    (
        "rename_column",
        ops.RenameColumn("post", "views", "hits"),
        "Rename column post.views to hits",
        "post_rename_views_to_hits",
        False,
    ),
    (
        "rename_referenced_column",
        ops.RenameColumn("author", "id", "author_id"),
        "Rename column author.id to author_id",
        "author_rename_id_to_author_id",
        False,
    ),
    (
        "create_index",
        ops.CreateIndex("ix_post_title_views", "post", ["title", "views"], unique=True),
        "Create unique index ix_post_title_views on post (title, views)",
        "post_add_index_title_views",
        False,
    ),
    (
        "drop_index",
        ops.DropIndex("ix_post_views", "post"),
        "Drop index ix_post_views on post",
        "post_drop_index_ix_post_views",
        False,
    ),
    (
        "add_unique",
        ops.AddConstraint("author", sa.UniqueConstraint("name", name="uq_author_name")),
        "Add unique constraint uq_author_name on author (name)",
        "author_add_unique_uq_author_name",
        False,
    ),
    (
        "add_unnamed_check",
        ops.AddConstraint("author", sa.CheckConstraint("length(name) > 1")),
        "Add check constraint on author (length(name) > 1)",
        "author_add_check_check",
        False,
    ),
    (
        "add_foreign_key",
        ops.AddConstraint(
            "author",
            sa.ForeignKeyConstraint(
                ["id"], ["post.id"], name="fk_author_post", ondelete="SET NULL"
            ),
        ),
        "Add foreign key fk_author_post on author (id)",
        "author_add_fk_fk_author_post",
        False,
    ),
    (
        "drop_named_check",
        ops.DropConstraint("post", "ck_post_views", type_="check"),
        "Drop constraint ck_post_views on post",
        "post_drop_check_ck_post_views",
        False,
    ),
    (
        "drop_unnamed_fk",
        ops.DropConstraint("post", type_="foreignkey", columns=["author_id"]),
        "Drop constraint foreignkey(author_id) on post",
        "post_drop_foreignkey_author_id",
        False,
    ),
    (
        "drop_unnamed_unique_in_schema",
        ops.DropConstraint("entry", type_="unique", columns=["code"], schema="audit"),
        "Drop constraint unique(code) on audit.entry",
        "entry_drop_unique_code",
        False,
    ),
    (
        "drop_unnamed_check",
        ops.DropConstraint("entry", type_="check", sqltext="id > 0", schema="audit"),
        "Drop constraint check(id > 0) on audit.entry",
        "entry_drop_check_check",
        False,
    ),
    (
        "table_comment",
        ops.AlterTableComment("author", "writers"),
        "Set the comment of table author",
        "author_alter_comment",
        False,
    ),
    (
        "remove_table_comment",
        ops.AlterTableComment("author", None),
        "Set the comment of table author",
        "author_alter_comment",
        False,
    ),
    (
        "run_sql",
        ops.RunSQL("UPDATE post SET views = 0\nWHERE views IS NULL", reverse_sql="SELECT 1"),
        "Run SQL: UPDATE post SET views = 0",
        "run_sql",
        False,
    ),
    (
        "run_python",
        ops.RunPython(fill, unfill),
        "Run Python: fill",
        "fill",
        False,
    ),
]

IDS = [c[0] for c in CASES]


@pytest.mark.parametrize(("op", "describe", "fragment", "destructive"),
                         [c[1:] for c in CASES], ids=IDS)
def test_describe_fragment_and_destructiveness(
    op: ops.Operation, describe: str, fragment: str, destructive: bool
) -> None:
    assert op.describe() == describe
    assert op.fragment() == fragment
    assert op.destructive is destructive


@pytest.mark.parametrize("op", [c[1] for c in CASES], ids=IDS)
def test_reverse_undoes_the_operation(op: ops.Operation) -> None:
    before = base_state()
    assert forwards_then_back(op, before) == before


@pytest.mark.parametrize("op", [c[1] for c in CASES], ids=IDS)
def test_source_evaluates_to_an_equal_operation_with_the_same_effect(op: ops.Operation) -> None:
    again = rebuilt(op)
    assert again == op
    assert again.source().render() == op.source().render()
    before = base_state()
    assert again.state_forwards(before, "blog") == op.state_forwards(before, "blog")


@pytest.mark.parametrize("op", [c[1] for c in CASES], ids=IDS)
def test_reverse_source_evaluates_too(op: ops.Operation) -> None:
    before = base_state()
    reverse = op.reverse(before)
    assert rebuilt(reverse) == reverse


# -- what each operation does to the state ------------------------------------------------------


def test_create_table_reads_sqlalchemy_objects_into_state() -> None:
    state = base_state()
    post = state.table("post")
    assert post.app == "blog"
    assert post.primary_key == ("id",)
    assert post.column("title").type == "sa.String(length=200)"
    assert post.column("title").nullable is False
    assert post.column("views").server_default == ServerDefault("literal", "0")
    assert ForeignKey(("author_id",), "author", ("id",), ondelete="CASCADE") in post.foreign_keys
    assert post.uniques == frozenset({Unique(("title",), "uq_post_title")})
    assert post.checks == frozenset({Check("views >= 0", "ck_post_views")})
    assert post.indexes == frozenset({Index("ix_post_views", ("views",))})
    assert state.table("author").comment == "people"
    assert state.table("audit.entry").schema == "audit"


def test_rename_table_retargets_foreign_keys_that_point_at_it() -> None:
    state = ops.RenameTable("author", "writer").state_forwards(base_state(), "blog")
    assert "author" not in state.tables
    assert state.table("writer").name == "writer"
    fk = next(iter(state.table("post").foreign_keys))
    assert fk.ref_table == "writer"


def test_rename_column_follows_into_constraints_indexes_and_foreign_keys() -> None:
    state = ops.RenameColumn("post", "views", "hits").state_forwards(base_state(), "blog")
    post = state.table("post")
    assert post.has_column("hits") and not post.has_column("views")
    assert post.indexes == frozenset({Index("ix_post_views", ("hits",))})
    state = ops.RenameColumn("author", "id", "pk").state_forwards(state, "blog")
    assert next(iter(state.table("post").foreign_keys)).ref_columns == ("pk",)


def test_drop_column_takes_its_index_unique_and_foreign_key_along() -> None:
    state = base_state()
    state = ops.DropColumn("post", "views").state_forwards(state, "blog")
    state = ops.DropColumn("post", "title").state_forwards(state, "blog")
    state = ops.DropColumn("post", "author_id").state_forwards(state, "blog")
    post = state.table("post")
    assert post.indexes == frozenset() and post.uniques == frozenset()
    assert post.foreign_keys == frozenset()


def test_add_column_foreign_key_joins_the_table() -> None:
    op = ops.AddColumn("author", sa.Column("post_id", sa.Integer(), sa.ForeignKey("post.id")))
    state = op.state_forwards(base_state(), "blog")
    assert state.table("author").foreign_keys == frozenset(
        {ForeignKey(("post_id",), "post", ("id",))}
    )


def test_run_sql_and_run_python_leave_the_state_alone() -> None:
    state = base_state()
    assert ops.RunSQL("SELECT 1").state_forwards(state, "blog") == state
    assert ops.RunPython(fill).state_forwards(state, "blog") == state


def test_run_sql_and_run_python_without_reverse_cannot_be_unapplied() -> None:
    sql = ops.RunSQL(["SELECT 1", "SELECT 2"])
    assert sql.reversible is False
    with pytest.raises(GitmigError, match="RunSQL has no reverse_sql, so it cannot be unapplied"):
        sql.reverse(base_state())
    code = ops.RunPython(fill)
    assert code.reversible is False
    with pytest.raises(GitmigError, match="RunPython fill has no reverse"):
        code.reverse(base_state())
    assert ops.RunPython(fill, ops.RunPython.noop).reversible is True


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (ops.CreateTable("post", sa.Column("id", sa.Integer())),
         "cannot create table 'post': it already exists"),
        (ops.DropTable("ghost"),
         "cannot drop table: table 'ghost' does not exist at this point of the history"),
        (ops.RenameTable("post", "author"),
         "cannot rename 'post' to 'author': that table exists"),
        (ops.AddColumn("post", sa.Column("title", sa.Text())),
         "cannot add column post.title: it exists"),
        (ops.DropColumn("post", "ghost"),
         "cannot drop column: column post.ghost does not exist at this point"),
        (ops.AlterColumn("post", "ghost", nullable=True),
         "cannot alter column: column post.ghost does not exist at this point"),
        (ops.RenameColumn("post", "title", "views"),
         "cannot rename post.title: 'views' exists"),
        (ops.CreateIndex("ix_post_views", "post", ["title"]),
         "cannot create index 'ix_post_views': it exists"),
        (ops.DropIndex("ix_ghost", "post"),
         "cannot drop index 'ix_ghost': post has no such index"),
        (ops.AddConstraint("post", sa.UniqueConstraint("views", name="uq_post_title")),
         "cannot add constraint to post: an equal one exists"),
        (ops.DropConstraint("post", "ck_ghost", type_="check"),
         "cannot drop constraint ck_ghost on post: not found"),
    ],
)
def test_operations_refuse_a_state_they_do_not_fit(op: ops.Operation, message: str) -> None:
    with pytest.raises(GitmigError) as info:
        op.state_forwards(base_state(), "blog")
    assert info.value.message == message


def test_bad_arguments_are_refused_with_a_clear_message() -> None:
    with pytest.raises(GitmigError, match=r"expected sa.Column\(...\)"):
        ops.AddColumn("post", "body")
    with pytest.raises(GitmigError, match="type_ must be foreignkey, unique or check"):
        ops.DropConstraint("post", "x", type_="primary")
    with pytest.raises(GitmigError, match="needs a name, or columns"):
        ops.DropConstraint("post", type_="unique")
    with pytest.raises(GitmigError, match="RunPython needs a function"):
        ops.RunPython("print(1)")  # type: ignore[arg-type]


def test_operations_compare_by_what_they_do() -> None:
    assert ops.AddColumn("post", sa.Column("a", sa.Integer())) == ops.AddColumn(
        "post", sa.Column("a", sa.Integer(), nullable=True)
    )
    assert ops.AddColumn("post", sa.Column("a", sa.Integer())) != ops.AddColumn(
        "post", sa.Column("a", sa.BigInteger())
    )
    assert ops.DropTable("post") != ops.DropColumn("post", "title")
    assert len({ops.DropTable("post"), ops.DropTable("post")}) == 1


def test_render_list_lays_out_a_list_of_operations() -> None:
    text = ops.render_list([ops.DropTable("a"), ops.DropTable("b", schema="s")])
    assert text == '[ops.DropTable("a"), ops.DropTable("b", schema="s")]'


def test_run_python_noop_reverse_is_written_as_gitmig_noop() -> None:
    def forwards(connection: object) -> None:
        pass

    op = ops.RunPython(forwards, ops.RunPython.noop)
    assert op.source().flat() == "ops.RunPython(forwards, ops.RunPython.noop)"
