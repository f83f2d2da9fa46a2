"""The squash optimizer with plain values: folds what the issue names, never makes the list
longer, and always replays to the state the original operations give."""

from __future__ import annotations

import os

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from gitmig import ops
from gitmig.migrations.optimizer import optimize, replay
from gitmig.schema.state import SchemaState


def col(name: str, type_: sa.types.TypeEngine[object] | None = None, *args: object,
        **kw: object) -> sa.Column[object]:
    return sa.Column(name, type_ if type_ is not None else sa.Integer(), *args, **kw)


def post() -> ops.CreateTable:
    return ops.CreateTable("post", col("id", primary_key=True), col("title", sa.String(20)))


def check(operations: list[ops.Operation], state: SchemaState | None = None) -> list[str]:
    start = state or SchemaState()
    out = optimize(operations, start, "blog")
    assert replay(out, start, "blog") == replay(operations, start, "blog")
    assert len(out) <= len(operations)
    return [repr(op) for op in out]


def test_a_created_table_takes_its_later_columns_indexes_and_alterations() -> None:
    out = check([
        post(),
        ops.AddColumn("post", col("slug", sa.String(50))),
        ops.CreateIndex("ix_post_slug", "post", ["slug"]),
        ops.AlterColumn("post", "title", type_=sa.String(80)),
        ops.RenameColumn("post", "slug", "handle"),
    ])
    assert len(out) == 1 and out[0].startswith('ops.CreateTable("post"')
    assert '"handle"' in out[0] and "String(length=80)" in out[0]
    assert "ix_post_slug" in out[0]


def test_a_created_then_dropped_table_and_an_added_then_dropped_column_are_nothing() -> None:
    start = replay([post()], SchemaState(), "blog")
    assert check([ops.AddColumn("post", col("x")), ops.DropColumn("post", "x")], start) == []
    assert check([ops.CreateTable("tag", col("id", primary_key=True)),
                  ops.DropTable("tag")]) == []


def test_rename_chains_become_one_rename_and_two_alters_one() -> None:
    start = replay([post()], SchemaState(), "blog")
    assert check([ops.RenameColumn("post", "title", "name"),
                  ops.RenameColumn("post", "name", "label")], start) == [
        'ops.RenameColumn("post", "title", "label")']
    assert check([ops.RenameTable("post", "article"), ops.RenameTable("article", "entry")],
                 start) == ['ops.RenameTable("post", "entry")']
    assert check([ops.AlterColumn("post", "title", type_=sa.String(40)),
                  ops.AlterColumn("post", "title", nullable=False)], start) == [
        'ops.AlterColumn("post", "title", type_=sa.String(length=40), nullable=False)']


def code(conn: object) -> None:
    """A data migration's function."""


def test_code_is_a_wall_and_a_drop_is_never_undone_by_a_re_add() -> None:
    start = replay([post()], SchemaState(), "blog")
    walled = [ops.AddColumn("post", col("x")), ops.RunPython(code), ops.DropColumn("post", "x")]
    assert check(walled, start) == [repr(op) for op in walled]
    dropped = [ops.DropColumn("post", "title"),
               ops.AddColumn("post", col("title", sa.String(20)))]
    assert check(dropped, start) == [repr(op) for op in dropped]


def test_other_tables_between_do_not_stop_a_fold_but_a_reference_does() -> None:
    out = check([post(), ops.CreateTable("tag", col("id", primary_key=True)),
                 ops.AddColumn("post", col("score"))])
    assert len(out) == 2
    referencing = [
        post(),
        ops.CreateTable("comment", col("id", primary_key=True),
                        col("post_id", sa.Integer(), sa.ForeignKey("post.id"))),
        ops.DropColumn("post", "title"),
    ]
    assert len(check(referencing)) == 3


TABLES = ["post", "tag", "note"]
COLUMNS = ["a", "b", "c", "d"]
TYPES = [sa.Integer(), sa.String(20), sa.String(80), sa.BigInteger()]


@st.composite
def histories(draw: st.DrawFn) -> list[ops.Operation]:
    """5 to 30 operations, each valid on the state the ones before it leave."""
    state, out = SchemaState(), []
    for _ in range(draw(st.integers(5, 30))):
        tables = sorted(t.name for t in state.tables.values())
        kinds = ["create"] if len(tables) < len(TABLES) else []
        if tables:
            kinds += ["add", "drop_col", "alter", "rename_col", "rename_table", "drop_table",
                      "index", "drop_index", "fk"]
        kind = draw(st.sampled_from(kinds))
        op: ops.Operation | None = None
        if kind == "create":
            name = draw(st.sampled_from([t for t in TABLES if t not in tables]))
            op = ops.CreateTable(name, col("id", primary_key=True),
                                 col("a", draw(st.sampled_from(TYPES))))
        else:
            t = state.table(draw(st.sampled_from(tables)))
            names = [c.name for c in t.columns if c.name != "id"]
            free = [c for c in COLUMNS if c not in names]
            if kind == "add" and free:
                op = ops.AddColumn(t.name, col(draw(st.sampled_from(free)),
                                               draw(st.sampled_from(TYPES))))
            elif kind == "fk" and free and len(tables) > 1:
                other = draw(st.sampled_from([n for n in tables if n != t.name]))
                op = ops.AddColumn(t.name, col(draw(st.sampled_from(free)), sa.Integer(),
                                               sa.ForeignKey(f"{other}.id")))
            elif kind == "drop_col" and names:
                op = ops.DropColumn(t.name, draw(st.sampled_from(names)))
            elif kind == "alter" and names:
                op = ops.AlterColumn(t.name, draw(st.sampled_from(names)),
                                     nullable=draw(st.booleans()))
            elif kind == "rename_col" and names and free:
                op = ops.RenameColumn(t.name, draw(st.sampled_from(names)),
                                      draw(st.sampled_from(free)))
            elif kind == "rename_table" and len(tables) < len(TABLES):
                new = draw(st.sampled_from([n for n in TABLES if n not in tables]))
                op = ops.RenameTable(t.name, new)
            elif kind == "drop_table" and not any(
                fk.ref_table == t.key for o in state.tables.values() if o is not t
                for fk in o.foreign_keys
            ):
                op = ops.DropTable(t.name)
            elif kind == "index" and names and not t.indexes:
                op = ops.CreateIndex(f"ix_{t.name}_{names[0]}", t.name, [names[0]])
            elif kind == "drop_index" and t.indexes:
                op = ops.DropIndex(sorted(t.indexes, key=lambda i: i.name)[0].name,
                                   table=t.name)
        if op is None:
            continue
        state = op.state_forwards(state, "blog")
        out.append(op)
    return out


@settings(max_examples=int(os.environ.get("GITMIG_OPTIMIZER_EXAMPLES", "40")))
@given(histories())
def test_random_histories_fold_to_the_same_state_and_never_grow(
    operations: list[ops.Operation],
) -> None:
    check(operations)
