"""Every question makemigrations may ask a person, in one place, with a non-interactive twin.

Explicit answers (--rename, --default, --move, --rename-enum-value) always win, so a
script can say exactly what a person at a terminal would have answered. Without a
terminal, a rename is never guessed.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitmig.errors import GitmigError
from gitmig.schema.state import Column, Table

TEXT_TYPES = ("sa.String", "sa.Text", "sa.Unicode", "sa.UnicodeText", "sa.Enum", "sa.VARCHAR",
              "sa.CHAR", "sa.TEXT", "sa.NVARCHAR", "sa.NCHAR")
BOOL_TYPES = ("sa.Boolean", "sa.BOOLEAN")
NUMBER_TYPES = ("sa.Integer", "sa.SmallInteger", "sa.BigInteger", "sa.Numeric", "sa.Float",
                "sa.Double", "sa.INTEGER", "sa.SMALLINT", "sa.BIGINT", "sa.NUMERIC", "sa.DECIMAL",
                "sa.FLOAT", "sa.REAL", "sa.DOUBLE")


@dataclass
class Answers:
    """Answers given on the command line."""

    table_renames: dict[str, str] = field(default_factory=dict)  # old -> new
    column_renames: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, old) -> new
    defaults: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, col) -> raw
    used: set[str] = field(default_factory=set)
    moves: dict[str, str] = field(default_factory=dict)  # table -> the app it moves to
    enum_renames: dict[str, str] = field(default_factory=dict)  # "ENUM.OLD" -> NEW

    def add_enum_renames(self, renames: Sequence[str]) -> None:
        """--rename-enum-value ENUM.OLD=NEW answers (ENUM may be SCHEMA.ENUM)."""
        for raw in renames:
            target, sep, new = raw.partition("=")
            if not sep or "." not in target.strip(".") or not new:
                raise GitmigError(
                    f"--rename-enum-value {raw!r}: expected ENUM.OLD=NEW, e.g. "
                    "--rename-enum-value ticket_state.shut=closed"
                )
            self.enum_renames[target] = new

    def add_moves(self, moves: Sequence[str]) -> None:
        """--move TABLE=APP answers."""
        for raw in moves:
            table, sep, app = raw.partition("=")
            if not sep or not table.strip() or not app.strip():
                raise GitmigError(f"--move {raw!r}: expected TABLE=APP, e.g. --move recipe=cooking")
            self.moves[table.strip()] = app.strip()

    @classmethod
    def parse(cls, renames: Sequence[str], defaults: Sequence[str]) -> Answers:
        answers = cls()
        for raw in renames:
            old, sep, new = raw.partition("=")
            if not sep or not old or not new or "." in new:
                raise GitmigError(
                    f"--rename {raw!r}: expected TABLE.OLD=NEW for a column "
                    "or OLD_TABLE=NEW_TABLE for a table"
                )
            table, dot, column = old.rpartition(".")
            if dot:
                answers.column_renames[(table, column)] = new
            else:
                answers.table_renames[old] = new
        for raw in defaults:
            target, sep, value = raw.partition("=")
            table, dot, column = target.rpartition(".")
            if not sep or not dot or not table or not column:
                raise GitmigError(f"--default {raw!r}: expected TABLE.COLUMN=VALUE")
            answers.defaults[(table, column)] = value
        return answers

    def unused_renames(self) -> list[str]:
        out = [
            f"--rename {o}={n}" for o, n in self.table_renames.items() if f"t:{o}" not in self.used
        ]
        out += [
            f"--rename {t}.{o}={n}"
            for (t, o), n in self.column_renames.items()
            if f"c:{t}.{o}" not in self.used
        ]
        return out

    def unused(self) -> list[str]:
        out = self.unused_renames()
        out += [f"--move {t}={a}" for t, a in self.moves.items() if f"m:{t}" not in self.used]
        out += [f"--rename-enum-value {t}={n}" for t, n in self.enum_renames.items()
                if f"e:{t}" not in self.used]
        out += [
            f"--default {t}.{c}={v}"
            for (t, c), v in self.defaults.items()
            if f"d:{t}.{c}" not in self.used
        ]
        return out


def parse_value(raw: str, column: Column) -> Any:
    """A --default value as the column's Python type: text stays text, the rest is a literal.

    Numbers and booleans must parse as such, so a typo never reaches the database as text.
    """
    text = raw.strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text
    if column.type.startswith(TEXT_TYPES):
        return value if isinstance(value, str) else text
    if column.type.startswith(BOOL_TYPES):
        truth = {"true": True, "1": True, "false": False, "0": False}.get(text.lower())
        if truth is None:
            raise GitmigError(f"value {raw!r} for boolean column {column.name}: give True or False")
        return truth
    if column.type.startswith(NUMBER_TYPES):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GitmigError(f"value {raw!r} for numeric column {column.name}: give a number")
        return value
    if not isinstance(value, (str, int, float, bool)):
        raise GitmigError(
            f"value {raw!r} for column {column.name}: give a string, number or boolean"
        )
    return value


class Questioner:
    """The non-interactive questioner: answers only what the command line said."""

    def __init__(self, answers: Answers | None = None) -> None:
        self.answers = answers or Answers()

    def refuse_unused_renames(self) -> None:
        unused = self.answers.unused_renames()
        if unused:
            raise GitmigError(
                f"{unused[0]} matches no change: the old name must disappear from the models "
                "and the new one appear"
            )

    def explicit_table_rename(self, old: Table) -> str | None:
        """--rename OLD=NEW; SCHEMA.OLD=NEW reads like a column rename, so both are looked at."""
        if old.name in self.answers.table_renames:
            self.answers.used.add(f"t:{old.name}")
            return self.answers.table_renames[old.name]
        if old.schema and (old.schema, old.name) in self.answers.column_renames:
            self.answers.used.add(f"c:{old.schema}.{old.name}")
            return self.answers.column_renames[(old.schema, old.name)]
        return None

    def explicit_column_rename(
        self, table: Table, old: str, former_table: str | None = None
    ) -> str | None:
        """--rename TABLE.OLD=NEW; a renamed table is found by its old name too."""
        for key in (table.name, table.key, former_table):
            if key is None:
                continue
            new = self.answers.column_renames.get((key, old))
            if new is not None:
                self.answers.used.add(f"c:{key}.{old}")
                return new
        return None

    def move(self, table: Table, to_app: str) -> bool:
        """Did the table move to `to_app` (state only, rows kept)? --move, else ask."""
        for key in (table.name, table.key):
            target = self.answers.moves.get(key)
            if target is not None:
                self.answers.used.add(f"m:{key}")
                if target != to_app:
                    raise GitmigError(
                        f"--move {key}={target}: the models put table {table.key} in app "
                        f"{to_app!r}, not {target!r}"
                    )
                return True
        return self.ask_move(table, to_app)

    def ask_move(self, table: Table, to_app: str) -> bool:
        raise GitmigError(
            f"table {table.key} moved from app {table.app!r} to app {to_app!r}; pass "
            f"--move {table.name}={to_app} to move it in the migrations' state only (no SQL, "
            "rows kept)"
        )

    def ask_rename_table(self, old: Table, new: Table) -> bool:
        return False

    def enum_value_renamed(self, label: str, name: str, old: str, new: str) -> bool:
        """Did value `old` of enum type `label` become `new` (rows follow it)?
        --rename-enum-value, else ask; never guessed without a terminal."""
        for target in dict.fromkeys((f"{label}.{old}", f"{name}.{old}")):
            answer = self.answers.enum_renames.get(target)
            if answer is not None:
                if answer != new:
                    return False
                self.answers.used.add(f"e:{target}")
                return True
        return self.ask_rename_enum_value(label, old, new)

    def ask_rename_enum_value(self, label: str, old: str, new: str) -> bool:
        return False

    def ask_rename_column(self, table: Table, old: Column, new: Column) -> bool:
        return False

    def backfill(self, table: Table, column: Column) -> Any:
        """The value existing rows get: --default, else the model's scalar default, else ask."""
        for key in (table.name, table.key):
            raw = self.answers.defaults.get((key, column.name))
            if raw is not None:
                self.answers.used.add(f"d:{key}.{column.name}")
                return parse_value(raw, column)
        if column.default is not None:
            return column.default
        return self.ask_backfill(table, column)

    def ask_backfill(self, table: Table, column: Column) -> Any:
        raise GitmigError(
            f"{table.key}.{column.name} is a new NOT NULL column without a default, and existing "
            f"rows need a value; add a default to the model, or pass "
            f"--default {table.name}.{column.name}=VALUE"
        )


class CheckQuestioner(Questioner):
    """For --check: any change is pending, so missing answers never stop the check."""

    def ask_backfill(self, table: Table, column: Column) -> Any:
        return None

    def ask_move(self, table: Table, to_app: str) -> bool:
        return True


class InteractiveQuestioner(Questioner):
    """Asks on the terminal what the command line did not answer."""

    def __init__(
        self,
        answers: Answers | None = None,
        prompt: Callable[[str], str] = input,
        say: Callable[[str], None] = print,
    ) -> None:
        super().__init__(answers)
        self.prompt = prompt
        self.say = say

    def _yes(self, question: str) -> bool:
        while True:
            reply = self.prompt(f"{question} [y/N] ").strip().lower()
            if reply in ("", "n", "no"):
                return False
            if reply in ("y", "yes"):
                return True
            self.say("Please answer y or n.")

    def ask_rename_table(self, old: Table, new: Table) -> bool:
        return self._yes(f"Did you rename table {old.key} to {new.key}?")

    def ask_move(self, table: Table, to_app: str) -> bool:
        question = (f"Did you move table {table.key} from app {table.app!r} to app {to_app!r}? "
                    "(the table and its rows stay; only the migrations' record moves)")
        if self._yes(question):
            return True
        raise GitmigError(
            f"stopped: table {table.key} is in app {to_app!r} in the models but in app "
            f"{table.app!r} in the migrations; keep its model in {table.app}, or answer yes "
            f"(or pass --move {table.name}={to_app})"
        )

    def ask_rename_column(self, table: Table, old: Column, new: Column) -> bool:
        return self._yes(f"Did you rename {table.key}.{old.name} to {table.key}.{new.name}?")

    def ask_rename_enum_value(self, label: str, old: str, new: str) -> bool:
        return self._yes(f"Did you rename enum {label} value {old!r} to {new!r}?")

    def ask_backfill(self, table: Table, column: Column) -> Any:
        self.say(
            f"{table.key}.{column.name} is a new NOT NULL column without a default; "
            "rows that already exist need a value."
        )
        while True:
            raw = self.prompt(
                "Value for existing rows (a Python literal; empty to stop and add a default "
                "to the model): "
            )
            if not raw.strip():
                raise GitmigError(
                    f"stopped: add a default to {table.key}.{column.name} in the model, or pass "
                    f"--default {table.name}.{column.name}=VALUE"
                )
            try:
                return parse_value(raw, column)
            except GitmigError as exc:
                self.say(exc.message)
