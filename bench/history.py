"""One seeded, realistic schema history as a neutral list of steps.

Nothing here knows gitmig, Django or Alembic: a step is a list of plain operations and the
schema they leave behind. Each tool's project is written from the same steps
(bench/generate.py), so the three histories do the same work and end at the same schema.

The shape of the history: an initial migration with ten tables, then about forty tables
created over the N steps, a few dropped (only tables no foreign key points at), and in
between the everyday changes — added columns (some NOT NULL with a default), longer or
shorter strings, NULL allowed or not, renamed columns and tables, indexes added and
dropped, columns dropped, foreign-key columns added to existing tables.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field

APP = "shop"
FINAL_TABLES = 40
INITIAL_TABLES = 10
LENGTHS = (20, 32, 50, 80, 100, 120, 200, 255)
KINDS = ("str", "str", "str", "int", "int", "text", "bool", "datetime", "datetime")

TABLE_WORDS = (
    "customer account address product category supplier warehouse shipment invoice payment "
    "refund coupon basket wishlist review vendor brand catalog price discount tax "
    "carrier parcel route driver vehicle station ticket agent team region country city "
    "store branch shelf stock batch lot order receipt ledger journal budget expense report "
    "campaign banner lead contact meeting note task project milestone sprint issue "
    "comment attachment tag badge profile session device token webhook event audit "
    "setting feature plan subscription license contract quote proposal partner affiliate "
    "referral reward voucher gift card bundle kit part component assembly locker "
    "courier depot dock pallet crate manifest customs tariff clause dispute claim policy "
    "premium benefit member household visit survey answer question poll quiz lesson course"
).split()
COLUMN_WORDS = (
    "title name code label summary status kind level rank score amount total quantity "
    "weight height width depth color size email phone street zipcode website notes "
    "reference external source channel priority position version checksum slug locale "
    "currency timezone starts ends opened closed shipped paid due archived flagged visible "
    "active verified public internal remarks comments rating count views clicks"
).split()


@dataclass
class Column:
    name: str
    kind: str  # str, text, int, bool, datetime, fk
    length: int | None = None  # str only
    nullable: bool = True
    ref: int | None = None  # fk only: the referenced table's id
    default: int | None = None  # a Python-side default (NOT NULL int columns added later)


@dataclass
class Index:
    name: str
    column: str


@dataclass
class Table:
    tid: int  # stable identity: renames keep it, foreign keys point at it
    word: str  # the table is f"{APP}_{word}", the model class word.capitalize()
    columns: list[Column]
    indexes: list[Index] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{APP}_{self.word}"

    @property
    def model(self) -> str:
        return self.word.capitalize()

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def indexed(self, name: str) -> bool:
        return any(ix.column == name for ix in self.indexes)


@dataclass
class Schema:
    tables: dict[int, Table] = field(default_factory=dict)  # by tid, in creation order

    def table_name(self, tid: int) -> str:
        return self.tables[tid].name

    def referenced(self, tid: int) -> bool:
        return any(c.ref == tid for t in self.tables.values() for c in t.columns)


# Operations: plain tuples, read by each tool's writer.
#   ("create_table", tid)
#   ("drop_table", tid)
#   ("rename_table", tid, old_word, new_word)
#   ("add_column", tid, column_name)            the column as it is after the step
#   ("drop_column", tid, Column)                the column as it was
#   ("alter_length", tid, column_name, old_length, new_length)
#   ("alter_nullable", tid, column_name, old_nullable, new_nullable)
#   ("rename_column", tid, old_name, new_name)
#   ("create_index", tid, Index)
#   ("drop_index", tid, Index)
Op = tuple


@dataclass
class Step:
    ops: list[Op]
    before: Schema
    after: Schema

    def column_renames(self) -> list[tuple[str, str, str]]:
        """(table name, old column, new column) for every column renamed in this step."""
        return [(self.after.table_name(op[1]), op[2], op[3]) for op in self.ops
                if op[0] == "rename_column"]

    def table_renames(self) -> list[tuple[str, str]]:
        return [(f"{APP}_{op[2]}", f"{APP}_{op[3]}") for op in self.ops
                if op[0] == "rename_table"]


class _Builder:
    def __init__(self, n: int, seed: int, tables: int) -> None:
        self.rng = random.Random(seed)
        self.n = n
        self.final_tables = tables
        self.initial_tables = min(INITIAL_TABLES, max(1, tables // 2))
        self.schema = Schema()
        self.next_tid = 1
        self.next_index = 1
        self.used_words: set[str] = set()

    # -- names ---------------------------------------------------------------------------

    def table_word(self) -> str:
        free = [w for w in TABLE_WORDS if w not in self.used_words]
        word = self.rng.choice(free) if free else f"entity{len(self.used_words)}"
        self.used_words.add(word)
        return word

    def column_name(self, table: Table) -> str:
        # A foreign-key column customer_id is the Django field `customer`: keep both free.
        taken = {c.name for c in table.columns} | {c.name[:-3] for c in table.columns if c.ref}
        for _ in range(20):
            word = self.rng.choice(COLUMN_WORDS)
            if word not in taken:
                return word
        i = 2
        while f"{word}{i}" in taken:
            i += 1
        return f"{word}{i}"

    def index_name(self, column: str) -> str:
        name = f"ix{self.next_index}_{column}"[:30]
        self.next_index += 1
        return name

    # -- columns and tables --------------------------------------------------------------

    def new_column(self, table: Table, nullable: bool | None = None) -> Column:
        kind = self.rng.choice(KINDS)
        if nullable is None:
            nullable = self.rng.random() < 0.5
        return Column(
            name=self.column_name(table),
            kind=kind,
            length=self.rng.choice(LENGTHS) if kind == "str" else None,
            nullable=nullable,
        )

    def fk_column(self, table: Table, ref: Table, nullable: bool) -> Column | None:
        """A foreign key from `table` to `ref`; never two tables pointing at each other (as
        in most schemas, and Django would refuse the clashing reverse names)."""
        name = f"{ref.word}_id"
        if any(c.name in (name, ref.word) or c.ref == ref.tid for c in table.columns):
            return None
        if any(c.ref == table.tid for c in ref.columns):
            return None
        return Column(name=name, kind="fk", nullable=nullable, ref=ref.tid)

    def create_table(self) -> Op:
        table = Table(self.next_tid, self.table_word(), [Column("id", "int", nullable=False)])
        self.next_tid += 1
        for _ in range(self.rng.randint(3, 7)):
            table.columns.append(self.new_column(table))
        others = list(self.schema.tables.values())
        for ref in self.rng.sample(others, k=min(len(others), self.rng.choice((0, 1, 1, 2)))):
            fk = self.fk_column(table, ref, nullable=self.rng.random() < 0.3)
            if fk is not None:
                table.columns.append(fk)
                table.indexes.append(Index(self.index_name(fk.name), fk.name))
        plain = [c for c in table.columns[1:] if c.kind in ("str", "int", "datetime")]
        for col in self.rng.sample(plain, k=min(len(plain), self.rng.choice((0, 1, 1, 2)))):
            table.indexes.append(Index(self.index_name(col.name), col.name))
        self.schema.tables[table.tid] = table
        return ("create_table", table.tid)

    def drop_table(self) -> Op | None:
        free = [t for t in self.schema.tables.values() if not self.schema.referenced(t.tid)]
        if len(self.schema.tables) < 5 or not free:
            return None
        table = self.rng.choice(free)
        del self.schema.tables[table.tid]
        return ("drop_table", table.tid)

    # -- everyday changes ----------------------------------------------------------------

    def pick_table(self) -> Table:
        return self.rng.choice(list(self.schema.tables.values()))

    def plain_columns(self, table: Table, kinds: tuple[str, ...] | None = None) -> list[Column]:
        return [c for c in table.columns[1:]
                if c.kind != "fk" and (kinds is None or c.kind in kinds)]

    def add_column(self) -> list[Op]:
        table = self.pick_table()
        if self.rng.random() < 0.2:
            col = Column(self.column_name(table), "int", nullable=False, default=0)
        else:
            col = self.new_column(table, nullable=True)
        table.columns.append(col)
        ops: list[Op] = [("add_column", table.tid, col.name)]
        if col.kind in ("str", "int", "datetime") and self.rng.random() < 0.25:
            ix = Index(self.index_name(col.name), col.name)
            table.indexes.append(ix)
            ops.append(("create_index", table.tid, ix))
        return ops

    def add_fk_column(self) -> list[Op] | None:
        table = self.pick_table()
        refs = [t for t in self.schema.tables.values() if t.tid != table.tid]
        if not refs:
            return None
        col = self.fk_column(table, self.rng.choice(refs), nullable=True)
        if col is None:
            return None
        table.columns.append(col)
        ix = Index(self.index_name(col.name), col.name)
        table.indexes.append(ix)
        return [("add_column", table.tid, col.name), ("create_index", table.tid, ix)]

    def alter_length(self) -> list[Op] | None:
        table = self.pick_table()
        cols = self.plain_columns(table, ("str",))
        if not cols:
            return None
        col = self.rng.choice(cols)
        new = self.rng.choice([n for n in LENGTHS if n != col.length])
        old, col.length = col.length, new
        return [("alter_length", table.tid, col.name, old, new)]

    def alter_nullable(self) -> list[Op] | None:
        table = self.pick_table()
        cols = [c for c in self.plain_columns(table) if c.default is None]
        if not cols:
            return None
        col = self.rng.choice(cols)
        col.nullable = not col.nullable
        return [("alter_nullable", table.tid, col.name, not col.nullable, col.nullable)]

    def rename_column(self) -> list[Op] | None:
        table = self.pick_table()
        cols = self.plain_columns(table)
        if not cols:
            return None
        col = self.rng.choice(cols)
        new = self.column_name(table)
        old, col.name = col.name, new
        for ix in table.indexes:
            if ix.column == old:
                ix.column = new
        return [("rename_column", table.tid, old, new)]

    def rename_table(self) -> list[Op] | None:
        table = self.pick_table()
        old, table.word = table.word, self.table_word()
        return [("rename_table", table.tid, old, table.word)]

    def create_index(self) -> list[Op] | None:
        table = self.pick_table()
        cols = [c for c in self.plain_columns(table, ("str", "int", "datetime"))
                if not table.indexed(c.name)]
        if not cols:
            return None
        col = self.rng.choice(cols)
        ix = Index(self.index_name(col.name), col.name)
        table.indexes.append(ix)
        return [("create_index", table.tid, ix)]

    def drop_index(self) -> list[Op] | None:
        table = self.pick_table()
        plain = {c.name for c in self.plain_columns(table)}
        ixs = [ix for ix in table.indexes if ix.column in plain]
        if not ixs:
            return None
        ix = self.rng.choice(ixs)
        table.indexes.remove(ix)
        return [("drop_index", table.tid, ix)]

    def drop_column(self) -> list[Op] | None:
        table = self.pick_table()
        cols = [c for c in self.plain_columns(table) if not table.indexed(c.name)]
        if len(cols) < 2:
            return None
        col = self.rng.choice(cols)
        table.columns.remove(col)
        return [("drop_column", table.tid, col)]

    EVERYDAY = (
        ("add_column", 30),
        ("alter_length", 12),
        ("alter_nullable", 10),
        ("create_index", 11),
        ("rename_column", 8),
        ("drop_column", 8),
        ("drop_index", 5),
        ("add_fk_column", 5),
        ("rename_table", 4),
    )

    def everyday(self) -> list[Op]:
        names = [n for n, _ in self.EVERYDAY]
        weights = [w for _, w in self.EVERYDAY]
        while True:
            ops = getattr(self, self.rng.choices(names, weights)[0])()
            if ops:
                return ops

    # -- the history ---------------------------------------------------------------------

    def build(self) -> list[Step]:
        n = self.n
        drops = max(2, n // 50)
        creates = self.final_tables + drops - self.initial_tables
        later = list(range(1, n))
        # Tables keep being created all along; drops come once there is something to drop.
        create_at = sorted(self.rng.choices(later, k=creates)) if n > 1 else []
        drop_at = set(self.rng.sample(later[len(later) // 4:], k=min(drops, len(later) * 3 // 4)))
        per_step = {i: create_at.count(i) for i in set(create_at)}
        steps: list[Step] = []
        for i in range(n):
            before = copy.deepcopy(self.schema)
            ops: list[Op] = []
            if i == 0:
                ops = [self.create_table() for _ in range(self.initial_tables)]
            else:
                ops = [self.create_table() for _ in range(per_step.get(i, 0))]
                if i in drop_at:
                    op = self.drop_table()
                    if op is not None:
                        ops.append(op)
                if not ops:
                    ops = self.everyday()
            steps.append(Step(ops, before, copy.deepcopy(self.schema)))
        return steps


def build_history(n: int, seed: int = 1, tables: int = FINAL_TABLES) -> list[Step]:
    """N steps ending with about `tables` tables; the same arguments give the same history."""
    if n < 1:
        raise ValueError("a history needs at least one step")
    return _Builder(n, seed, tables).build()


def summary(steps: list[Step]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for step in steps:
        for op in step.ops:
            counts[op[0]] = counts.get(op[0], 0) + 1
    final = steps[-1].after
    counts["final_tables"] = len(final.tables)
    counts["final_columns"] = sum(len(t.columns) for t in final.tables.values())
    counts["final_indexes"] = sum(len(t.indexes) for t in final.tables.values())
    return counts
