"""Hypothesis strategies: models built from the schema constructs of issue 12, evolving.

A model is plain data (`Model`), so that each step is a small edit of the one before,
rendered as the source of `blog/models.py`: a table `owner`, and a table `item` whose
columns are drawn from the constructs teams use (types with variants and decorators, a
naming convention, an `Identity` key, a computed column, partial and expression indexes,
a native enum that gains values, a check declared on a column). `constructs` restricts
the draw to a subset, so a property can run over what gitmig handles today while the
rest is kept as examples.
Every model is one that `create_all` accepts on the database family it is drawn for
(MariaDB has no expression or partial indexes, so none is drawn for it).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace

from hypothesis import strategies as st

CONSTRUCTS = frozenset({
    "variant", "decorator", "guid", "convention", "identity", "computed",
    "partial_index", "expression_index", "enum", "column_check",
})
# The check a column of this kind may declare on itself (the construct "column_check").
COLUMN_CHECKS = {"int": "{name} >= 0", "numeric": "{name} >= 0", "variant_bigint": "{name} >= 0",
                 "str": "{name} <> ''", "decorated_str": "{name} <> ''"}

# kind -> (the construct it needs or None, the type's source, indexable)
KINDS: dict[str, tuple[str | None, str, bool]] = {
    "str": (None, "sa.String(40)", True),
    "int": (None, "sa.Integer()", True),
    "numeric": (None, "sa.Numeric(10, 2)", True),
    "variant_text": ("variant", 'sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql")', False),
    "variant_bigint": ("variant", 'sa.BigInteger().with_variant(sa.Integer(), "sqlite")', True),
    "variant_json": ("variant", 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")',
                     False),
    "decorated_str": ("decorator", "Code()", True),
    "guid": ("guid", "Guid()", True),
}
NAMES = ["title", "code", "ref", "amount", "body", "extra", "slug", "rank"]
LABELS = ["new", "open", "closed", "archived", "lost"]

HEADER = '''
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.orm import DeclarativeBase


class Code(sa.types.TypeDecorator):
    impl = sa.String(30)
    cache_ok = True


class Guid(sa.types.TypeDecorator):
    impl = sa.CHAR
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.UUID())
        return dialect.type_descriptor(sa.CHAR(32))


CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
'''


@dataclass(frozen=True)
class Col:
    name: str
    kind: str
    nullable: bool = True
    index: str | None = None  # None, "plain", "unique", "partial", "expression"
    check: bool = False  # a named CheckConstraint inside the column (COLUMN_CHECKS)


@dataclass(frozen=True)
class Model:
    columns: tuple[Col, ...] = ()
    convention: bool = False
    identity: bool = False
    computed: bool = False
    labels: tuple[str, ...] | None = None  # the native enum column `state`
    # (old, new): this step renamed a value of item_state (--rename-enum-value answers it)
    renamed: tuple[str, str] | None = field(default=None, compare=False)

    def source(self) -> str:
        metadata = "sa.MetaData(naming_convention=CONVENTION)" if self.convention else (
            "sa.MetaData()")
        pk = ("sa.Column(\"id\", sa.BigInteger(), sa.Identity(), primary_key=True)"
              if self.identity else "sa.Column(\"id\", sa.Integer(), primary_key=True)")
        lines = [
            HEADER,
            "\nclass Base(DeclarativeBase):",
            f"    metadata = {metadata}\n\n",
            'owner = sa.Table("owner", Base.metadata,',
            '    sa.Column("id", sa.Integer(), primary_key=True),',
            '    sa.Column("name", sa.String(50), nullable=False, unique=True),',
            ")\n",
            'item = sa.Table("item", Base.metadata,',
            f"    {pk},",
            '    sa.Column("owner_id", sa.Integer(), sa.ForeignKey("owner.id"), index=True),',
            '    sa.Column("qty", sa.Integer(), nullable=False),',
            '    sa.Column("price", sa.Integer(), nullable=False),',
        ]
        if self.computed:
            lines.append('    sa.Column("total", sa.Integer(), sa.Computed("qty * price")),')
        if self.labels is not None:
            quoted = ", ".join(f'"{label}"' for label in self.labels)
            lines.append(f'    sa.Column("state", sa.Enum({quoted}, name="item_state")),')
        for col in self.columns:
            unique = ", unique=True" if col.index == "unique" else ""
            check = ""
            if col.check:
                text = COLUMN_CHECKS[col.kind].format(name=col.name)
                check = f'sa.CheckConstraint("{text}", name="{col.name}_ok"), '
            lines.append(
                f'    sa.Column("{col.name}", {KINDS[col.kind][1]}, {check}'
                f"nullable={col.nullable}{unique}),"
            )
        lines.append('    sa.CheckConstraint("qty >= 0", name="qty_positive"),')
        for col in self.columns:
            if col.index == "plain":
                lines.append(f'    sa.Index("ix_item_{col.name}", "{col.name}"),')
            elif col.index == "partial":
                where = f'sa.text("{col.name} IS NOT NULL")'
                lines.append(
                    f'    sa.Index("ix_item_{col.name}_set", "{col.name}", '
                    f"postgresql_where={where}, sqlite_where={where}),"
                )
            elif col.index == "expression":
                lowered = f'sa.func.lower(sa.text("{col.name}"))'
                lines.append(f'    sa.Index("ix_item_{col.name}_lower", {lowered}),')
        lines.append(")")
        return "\n".join(lines) + "\n"


def _index_kinds(kind: str, constructs: Collection[str], family: str) -> list[str | None]:
    if not KINDS[kind][2]:
        return [None]
    out: list[str | None] = [None, "plain", "unique"]
    if "partial_index" in constructs and family != "mysql":
        out.append("partial")
    if "expression_index" in constructs and family != "mysql" and kind in ("str",
                                                                          "decorated_str"):
        out.append("expression")
    return out


def _kinds(constructs: Collection[str]) -> list[str]:
    return [k for k, (needs, _, _) in KINDS.items() if needs is None or needs in constructs]


@st.composite
def columns(draw: st.DrawFn, name: str, constructs: Collection[str], family: str) -> Col:
    kind = draw(st.sampled_from(_kinds(constructs)))
    index = draw(st.sampled_from(_index_kinds(kind, constructs, family)))
    check = "column_check" in constructs and kind in COLUMN_CHECKS and draw(st.booleans())
    return Col(name, kind, nullable=draw(st.booleans()), index=index, check=check)


@st.composite
def models(draw: st.DrawFn, constructs: Collection[str], family: str) -> Model:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    cols = tuple(draw(columns(n, constructs, family)) for n in names)
    labels = None
    if "enum" in constructs and draw(st.booleans()):
        labels = tuple(LABELS[: draw(st.integers(2, 3))])
    return Model(
        columns=cols,
        convention="convention" in constructs and draw(st.booleans()),
        identity="identity" in constructs and draw(st.booleans()),
        computed="computed" in constructs and draw(st.booleans()),
        labels=labels,
    )


@st.composite
def step(draw: st.DrawFn, model: Model, constructs: Collection[str], family: str) -> Model:
    """One small edit a developer would make to the models."""
    edits = ["add_column", "index", "nullable"]
    if len(model.columns) > 1:
        edits.append("drop_column")
    if "convention" in constructs:
        edits.append("convention")
    if "computed" in constructs:
        edits.append("computed")
    if "enum" in constructs:
        edits.append("enum")
    checkable = [i for i, c in enumerate(model.columns) if c.kind in COLUMN_CHECKS]
    if "column_check" in constructs and checkable:
        edits.append("check")
    edit = draw(st.sampled_from(edits))
    cols = list(model.columns)
    if edit == "add_column":
        free = [n for n in NAMES if n not in {c.name for c in cols}]
        if free:
            # Nullable: a NOT NULL column added to a table with rows needs a value.
            added = draw(columns(draw(st.sampled_from(free)), constructs, family))
            cols.append(replace(added, nullable=True))
    elif edit == "drop_column":
        cols.pop(draw(st.integers(0, len(cols) - 1)))
    elif edit == "index":
        i = draw(st.integers(0, len(cols) - 1))
        kinds = _index_kinds(cols[i].kind, constructs, family)
        cols[i] = replace(cols[i], index=draw(st.sampled_from(kinds)))
    elif edit == "nullable":
        i = draw(st.integers(0, len(cols) - 1))
        # Only NOT NULL -> NULL: the other way needs a value for existing rows.
        cols[i] = replace(cols[i], nullable=True)
    elif edit == "check":
        i = draw(st.sampled_from(checkable))
        cols[i] = replace(cols[i], check=not cols[i].check)
    elif edit == "convention":
        return replace(model, convention=not model.convention, renamed=None)
    elif edit == "computed":
        return replace(model, computed=not model.computed, renamed=None)
    elif edit == "enum":
        if model.labels is None:
            return replace(model, labels=tuple(LABELS[:2]), renamed=None)
        if draw(st.booleans()):  # a value renamed: rows holding it follow
            i = draw(st.integers(0, len(model.labels) - 1))
            old = model.labels[i]
            new = f"{old}_{len(old)}"
            labels = model.labels[:i] + (new,) + model.labels[i + 1:]
            return replace(model, labels=labels, renamed=(old, new))
        if len(model.labels) < len(LABELS):
            return replace(model, labels=model.labels + (LABELS[len(model.labels)],),
                           renamed=None)
    return replace(model, columns=tuple(cols), renamed=None)


@st.composite
def evolutions(
    draw: st.DrawFn, constructs: Collection[str] = CONSTRUCTS, family: str = "sqlite",
    min_steps: int = 2, max_steps: int = 3,
) -> list[Model]:
    """A first model and the models after each following edit."""
    current = draw(models(constructs, family))
    out = [current]
    for _ in range(draw(st.integers(min_steps - 1, max_steps - 1))):
        current = draw(step(current, constructs, family))
        out.append(current)
    return out
