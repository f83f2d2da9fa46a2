"""The autodetector alone: two states in, ordered operations out. No files, no database."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from gitmig import ops
from gitmig.errors import GitmigError
from gitmig.migrations.autodetector import AppChanges, detect
from gitmig.migrations.questioner import Answers, InteractiveQuestioner, Questioner
from gitmig.schema.canonical import table_state
from gitmig.schema.state import SchemaState


def state(*tables: sa.Table, app: str = "blog", extra: SchemaState | None = None) -> SchemaState:
    out = dict(extra.tables) if extra else {}
    for t in tables:
        s = table_state(t, app=app)
        out[s.key] = s
    return SchemaState(out)


def table(name: str, *items: Any, **kw: Any) -> sa.Table:
    """A table with an integer id primary key, on its own MetaData."""
    return sa.Table(name, sa.MetaData(), sa.Column("id", sa.Integer(), primary_key=True),
                    *items, **kw)


def described(changes: dict[str, AppChanges], app: str = "blog") -> list[str]:
    return [op.describe() for op in changes[app].operations]


def replayed(before: SchemaState, changes: dict[str, AppChanges]) -> SchemaState:
    for app, change in changes.items():
        for op in change.operations:
            before = op.state_forwards(before, app)
    return before


def run(before: SchemaState, after: SchemaState, q: Questioner | None = None,
        apps: tuple[str, ...] = ("blog",)) -> dict[str, AppChanges]:
    """Detect, and check the operations lead exactly from `before` to `after`."""
    changes = detect(before, after, apps, q or Questioner())
    assert replayed(before, changes).for_apps(apps) == after.for_apps(apps)
    return changes


def fk(target: str, **kw: Any) -> sa.ForeignKey:
    return sa.ForeignKey(target, **kw)


def test_equal_states_give_no_changes() -> None:
    s = state(table("post", sa.Column("title", sa.String(20))))
    assert detect(s, s, ["blog"]) == {}


def test_new_tables_come_referenced_first() -> None:
    after = state(
        table("a_comment", sa.Column("post_id", sa.Integer(), fk("b_post.id"))),
        table("b_post", sa.Column("author_id", sa.Integer(), fk("c_author.id"))),
        table("c_author"),
        table("d_loner"),
    )
    changes = run(SchemaState(), after)
    assert described(changes) == [
        "Create table c_author",
        "Create table b_post",
        "Create table a_comment",
        "Create table d_loner",
    ]


def test_dropped_tables_go_referencing_first() -> None:
    before = state(
        table("a_author"),
        table("b_post", sa.Column("author_id", sa.Integer(), fk("a_author.id"))),
        table("c_comment", sa.Column("post_id", sa.Integer(), fk("b_post.id"))),
    )
    changes = run(before, SchemaState())
    assert described(changes) == [
        "Drop table c_comment",
        "Drop table b_post",
        "Drop table a_author",
    ]
    assert all(op.destructive for op in changes["blog"].operations)


def test_a_cycle_of_new_tables_is_closed_with_a_constraint_after_both_exist() -> None:
    after = state(
        table("a", sa.Column("b_id", sa.Integer(), fk("b.id", name="fk_a_b"))),
        table("b", sa.Column("a_id", sa.Integer(), fk("a.id", name="fk_b_a"))),
    )
    changes = run(SchemaState(), after)
    assert described(changes) == [
        "Create table b",
        "Create table a",
        "Add foreign key fk_b_a on b (a_id)",
    ]


def test_a_cycle_of_dropped_tables_is_broken_before_the_drops() -> None:
    before = state(
        table("a", sa.Column("b_id", sa.Integer(), fk("b.id", name="fk_a_b"))),
        table("b", sa.Column("a_id", sa.Integer(), fk("a.id", name="fk_b_a"))),
    )
    changes = run(before, SchemaState())
    assert described(changes) == [
        "Drop constraint fk_b_a on b",
        "Drop table a",
        "Drop table b",
    ]


def test_self_reference_stays_inline() -> None:
    after = state(table("node", sa.Column("parent_id", sa.Integer(), fk("node.id"))))
    changes = run(SchemaState(), after)
    assert described(changes) == ["Create table node"]


def test_kept_table_changes_come_in_a_safe_order() -> None:
    before = state(
        table("tag"),
        table(
            "post",
            sa.Column("old", sa.Integer()),
            sa.Column("title", sa.String(20)),
            sa.Index("ix_post_old", "old"),
            sa.UniqueConstraint("old", "title", name="uq_post_old_title"),
        ),
    )
    after = state(
        table("tag"),
        table(
            "post",
            sa.Column("title", sa.String(80)),
            sa.Column("tag_id", sa.Integer(), fk("tag.id")),
            sa.Column("slug", sa.String(20)),
            sa.UniqueConstraint("slug", name="uq_post_slug"),
            sa.Index("ix_post_slug", "slug"),
        ),
        table("new"),
    )
    changes = run(before, after)
    assert described(changes) == [
        "Create table new",
        "Drop index ix_post_old on post",
        "Drop constraint uq_post_old_title on post",
        "Add column tag_id to post",
        "Add column slug to post",
        "Alter column post.title: type sa.String(length=80)",
        "Drop column old from post",
        "Add unique constraint uq_post_slug on post (slug)",
        "Create index ix_post_slug on post (slug)",
    ]
    add_fk = changes["blog"].operations[3]
    assert isinstance(add_fk, ops.AddColumn) and len(add_fk.foreign_keys) == 1


def test_changed_index_or_constraint_is_dropped_and_recreated() -> None:
    before = state(table("post", sa.Column("a", sa.Integer()), sa.Column("b", sa.Integer()),
                         sa.Index("ix_post", "a"), sa.CheckConstraint("a > 0", name="ck")))
    after = state(table("post", sa.Column("a", sa.Integer()), sa.Column("b", sa.Integer()),
                        sa.Index("ix_post", "a", "b", unique=True),
                        sa.CheckConstraint("a > 1", name="ck")))
    changes = run(before, after)
    assert described(changes) == [
        "Drop index ix_post on post",
        "Drop constraint ck on post",
        "Add check constraint ck on post (a > 1)",
        "Create unique index ix_post on post (a, b)",
    ]


def test_alter_column_says_only_what_changed() -> None:
    before = state(table("post", sa.Column("n", sa.Integer(), nullable=True, comment="a")))
    after = state(table("post", sa.Column("n", sa.BigInteger(), nullable=False,
                                          server_default="0", comment="b")))
    changes = run(before, after)
    (op,) = changes["blog"].operations
    assert isinstance(op, ops.AlterColumn)
    assert op.changes() == {
        "type": "sa.BigInteger()",
        "nullable": False,
        "server_default": ops.ServerDefault("literal", "0"),
        "comment": "b",
    }


def test_table_comment_change() -> None:
    before = state(table("post", comment="old"))
    after = state(table("post", comment=None))
    assert described(run(before, after)) == ["Set the comment of table post"]


def test_only_the_asked_apps_are_compared() -> None:
    before = SchemaState()
    after = state(table("post"), extra=state(table("user"), app="accounts"))
    changes = run(before, after, apps=("accounts",))
    assert list(changes) == ["accounts"]
    assert described(changes, "accounts") == ["Create table user"]


def test_cross_app_foreign_key_depends_on_the_other_app_and_warns() -> None:
    accounts = state(table("user"), app="accounts")
    after = state(table("post", sa.Column("user_id", sa.Integer(), fk("user.id"))),
                  extra=accounts)
    changes = run(accounts, after)
    assert changes["blog"].depends_on == {"accounts"}
    assert changes["blog"].warnings == [
        "post references user of app 'accounts', so the new migration of 'blog' depends on "
        "the migrations of 'accounts'; cross-app foreign keys are best avoided "
        "(keep models app-scoped)"
    ]


def test_same_app_foreign_key_has_no_dependency() -> None:
    after = state(table("a"), table("b", sa.Column("a_id", sa.Integer(), fk("a.id"))))
    changes = run(SchemaState(), after)
    assert changes["blog"].depends_on == set()
    assert changes["blog"].warnings == []


# -- renames -----------------------------------------------------------------------------------

POST_TITLE = table("post", sa.Column("title", sa.String(20)))
POST_HEADLINE = table("post", sa.Column("headline", sa.String(20)))


def test_without_answers_a_rename_is_never_guessed() -> None:
    changes = run(state(POST_TITLE), state(POST_HEADLINE))
    assert described(changes) == ["Add column headline to post", "Drop column title from post"]


def test_explicit_column_rename() -> None:
    q = Questioner(Answers.parse(["post.title=headline"], []))
    changes = run(state(POST_TITLE), state(POST_HEADLINE), q)
    assert described(changes) == ["Rename column post.title to headline"]


def test_explicit_rename_of_a_column_whose_type_changes_too() -> None:
    q = Questioner(Answers.parse(["post.title=headline"], []))
    after = state(table("post", sa.Column("headline", sa.String(80))))
    changes = run(state(POST_TITLE), after, q)
    assert described(changes) == [
        "Rename column post.title to headline",
        "Alter column post.headline: type sa.String(length=80)",
    ]


def test_explicit_table_rename_keeps_foreign_keys_pointing_at_it() -> None:
    before = state(table("author"), table("post", sa.Column("a", sa.Integer(), fk("author.id"))))
    after = state(table("writer"), table("post", sa.Column("a", sa.Integer(), fk("writer.id"))))
    q = Questioner(Answers.parse(["author=writer"], []))
    assert described(run(before, after, q)) == ["Rename table author to writer"]


def test_explicit_rename_that_matches_nothing_is_refused() -> None:
    q = Questioner(Answers.parse(["post.body=headline"], []))
    with pytest.raises(GitmigError) as info:
        detect(state(POST_TITLE), state(POST_HEADLINE), ["blog"], q)
    assert info.value.message.startswith("--rename post.body=headline matches no change")


def test_explicit_rename_to_a_column_that_is_not_new_is_refused() -> None:
    q = Questioner(Answers.parse(["post.title=id"], []))
    with pytest.raises(GitmigError) as info:
        detect(state(POST_TITLE), state(POST_HEADLINE), ["blog"], q)
    assert info.value.message == (
        "--rename post.title=id: post has no new column 'id' in the models; check the new name"
    )


def asking(*replies: str) -> tuple[InteractiveQuestioner, list[str]]:
    asked: list[str] = []
    queue = list(replies)

    def prompt(question: str) -> str:
        asked.append(question)
        return queue.pop(0)

    return InteractiveQuestioner(prompt=prompt, say=lambda _: None), asked


def test_alike_columns_are_asked_about_and_yes_renames() -> None:
    q, asked = asking("y")
    changes = run(state(POST_TITLE), state(POST_HEADLINE), q)
    assert asked == ["Did you rename post.title to post.headline? [y/N] "]
    assert described(changes) == ["Rename column post.title to headline"]


def test_columns_that_differ_in_more_than_the_name_are_not_asked_about() -> None:
    q, asked = asking()
    after = state(table("post", sa.Column("headline", sa.String(80))))
    changes = run(state(POST_TITLE), after, q)
    assert asked == []
    assert described(changes) == ["Add column headline to post", "Drop column title from post"]


def test_no_to_the_first_candidate_asks_about_the_next() -> None:
    q, asked = asking("n", "y")
    after = state(table("post", sa.Column("a", sa.String(20)), sa.Column("b", sa.String(20))))
    changes = run(state(POST_TITLE), after, q)
    assert asked == [
        "Did you rename post.title to post.a? [y/N] ",
        "Did you rename post.title to post.b? [y/N] ",
    ]
    assert described(changes) == ["Rename column post.title to b", "Add column a to post"]


def test_alike_tables_are_asked_about() -> None:
    q, asked = asking("", "yes")  # an empty answer is no
    before = state(table("post", sa.Column("x", sa.Integer())))
    after = state(table("article", sa.Column("x", sa.Integer())),
                  table("story", sa.Column("x", sa.Integer())))
    changes = run(before, after, q)
    assert asked == [
        "Did you rename table post to article? [y/N] ",
        "Did you rename table post to story? [y/N] ",
    ]
    assert described(changes) == ["Rename table post to story", "Create table article"]


def test_an_unclear_answer_is_asked_again() -> None:
    said: list[str] = []
    replies = ["maybe", "N"]
    q = InteractiveQuestioner(prompt=lambda _: replies.pop(0), say=said.append)
    changes = run(state(POST_TITLE), state(POST_HEADLINE), q)
    assert said == ["Please answer y or n."]
    assert described(changes) == ["Add column headline to post", "Drop column title from post"]


# -- values for existing rows -------------------------------------------------------------------


def post_with(column: sa.Column[Any]) -> SchemaState:
    return state(table("post", column))


def test_not_null_column_takes_the_model_default_for_existing_rows() -> None:
    changes = run(state(table("post")), post_with(
        sa.Column("views", sa.Integer(), nullable=False, default=5)
    ))
    (op,) = changes["blog"].operations
    assert isinstance(op, ops.AddColumn) and op.backfill == 5


def test_default_option_wins_over_the_model_default() -> None:
    q = Questioner(Answers.parse([], ["post.views=9"]))
    changes = run(state(table("post")), post_with(
        sa.Column("views", sa.Integer(), nullable=False, default=5)
    ), q)
    op = changes["blog"].operations[0]
    assert isinstance(op, ops.AddColumn) and op.backfill == 9


def test_not_null_column_without_default_is_refused_without_a_terminal() -> None:
    with pytest.raises(GitmigError) as info:
        detect(state(table("post")), post_with(sa.Column("views", sa.Integer(), nullable=False)),
               ["blog"], Questioner())
    assert info.value.message == (
        "post.views is a new NOT NULL column without a default, and existing rows need a value; "
        "add a default to the model, or pass --default post.views=VALUE"
    )


@pytest.mark.parametrize(
    ("column", "raw", "value"),
    [
        (sa.Column("n", sa.Integer(), nullable=False), "3", 3),
        (sa.Column("n", sa.Numeric(10, 2), nullable=False), "2.5", 2.5),
        (sa.Column("n", sa.Boolean(), nullable=False), "True", True),
        (sa.Column("n", sa.Boolean(), nullable=False), "false", False),
        (sa.Column("n", sa.Boolean(), nullable=False), "1", True),
        (sa.Column("n", sa.String(20), nullable=False), "hello there", "hello there"),
        (sa.Column("n", sa.String(20), nullable=False), "'quoted'", "quoted"),
        (sa.Column("n", sa.String(20), nullable=False), "12", "12"),
        (sa.Column("n", sa.Date(), nullable=False), "2024-01-31", "2024-01-31"),
    ],
)
def test_default_values_are_read_as_the_columns_type(
    column: sa.Column[Any], raw: str, value: Any
) -> None:
    q = Questioner(Answers.parse([], [f"post.n={raw}"]))
    changes = run(state(table("post")), post_with(column), q)
    op = changes["blog"].operations[0]
    assert isinstance(op, ops.AddColumn)
    assert op.backfill == value and type(op.backfill) is type(value)


@pytest.mark.parametrize(
    ("column", "raw", "message"),
    [
        (sa.Column("n", sa.Integer(), nullable=False), "three",
         "value 'three' for numeric column n: give a number"),
        (sa.Column("n", sa.Integer(), nullable=False), "True",
         "value 'True' for numeric column n: give a number"),
        (sa.Column("n", sa.Boolean(), nullable=False), "yes",
         "value 'yes' for boolean column n: give True or False"),
    ],
)
def test_default_values_that_do_not_fit_the_type_are_refused(
    column: sa.Column[Any], raw: str, message: str
) -> None:
    q = Questioner(Answers.parse([], [f"post.n={raw}"]))
    with pytest.raises(GitmigError) as info:
        detect(state(table("post")), post_with(column), ["blog"], q)
    assert info.value.message == message


def test_new_table_needs_no_value_for_not_null_columns() -> None:
    changes = run(SchemaState(), post_with(sa.Column("views", sa.Integer(), nullable=False)))
    assert described(changes) == ["Create table post"]


def test_not_null_column_with_a_server_default_needs_no_value() -> None:
    changes = run(state(table("post")), post_with(
        sa.Column("views", sa.Integer(), nullable=False, server_default="0")
    ))
    op = changes["blog"].operations[0]
    assert isinstance(op, ops.AddColumn) and op.backfill is ops.UNSET


def test_columns_are_known_by_their_database_name_not_their_python_key() -> None:
    md = sa.MetaData()
    sa.Table("author", md, sa.Column("id", sa.Integer(), primary_key=True))
    post = sa.Table(
        "post", md,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("author.id"), key="author"),
        sa.Column("editor_id", sa.Integer(), key="editor"),
        sa.ForeignKeyConstraint(["editor"], ["author.id"]),
    )
    fks = table_state(post).foreign_keys
    assert {fk.columns for fk in fks} == {("author_id",), ("editor_id",)}


def test_a_table_moving_to_another_app_without_an_answer_is_refused_rather_than_dropped(
) -> None:
    before = state(table("post"), app="blog")
    after = state(table("post"), app="cms")
    with pytest.raises(GitmigError) as info:
        detect(before, after, ["blog", "cms"], Questioner())
    assert info.value.message.startswith(
        "table post moved from app 'blog' to app 'cms'; pass --move post=cms"
    )


def test_a_table_moving_to_another_app_moves_in_the_state_only() -> None:
    before = state(table("post"), app="blog")
    after = state(table("post"), app="cms")
    answers = Answers()
    answers.add_moves(["post=cms"])
    changes = detect(before, after, ["blog", "cms"], Questioner(answers))
    assert [op.describe() for op in changes["blog"].operations] == [
        "Move table post to app 'cms' (state only: no SQL, rows kept)"
    ]
    assert [op.describe() for op in changes["cms"].operations] == [
        "Move table post from app 'blog' (state only: no SQL, rows kept)"
    ]
    assert changes["cms"].depends_on == {"blog"}


@pytest.mark.parametrize("answer", ["entry=log", "audit.entry=log"])
def test_explicit_rename_of_a_table_in_a_schema(answer: str) -> None:
    before = state(table("entry", schema="audit"))
    after = state(table("log", schema="audit"))
    q = Questioner(Answers.parse([answer], []))
    assert described(run(before, after, q)) == ["Rename table audit.entry to log"]


def test_explicit_rename_of_a_column_in_a_schema() -> None:
    before = state(table("entry", sa.Column("a", sa.Integer()), schema="audit"))
    after = state(table("entry", sa.Column("b", sa.Integer()), schema="audit"))
    q = Questioner(Answers.parse(["audit.entry.a=b"], []))
    assert described(run(before, after, q)) == ["Rename column audit.entry.a to b"]
