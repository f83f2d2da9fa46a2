"""gitmig.db.compare with plain values: each difference as the operation that reconciles it."""

from __future__ import annotations

from typing import Any

from gitmig.db.compare import compare, sort_key


def catalog(tables: dict[str, Any], types: dict[str, Any] | None = None,
            sequences: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"tables": tables, "types": types or {}, "sequences": sequences or {}}


def table(**columns: str) -> dict[str, Any]:
    return {"options": {}, "indexes": {}, "constraints": {},
            "columns": {n: {"type": t, "not_null": False, "default": None}
                        for n, t in columns.items()}}


def lines(expected: dict[str, Any], actual: dict[str, Any], **kw: Any) -> list[str]:
    found = compare(expected, actual, **kw)
    return [d.line() for d in sorted(found.differences, key=sort_key)]


def test_each_difference_is_an_operation() -> None:
    want = catalog({"post": table(id="INTEGER", title="VARCHAR(200)", body="TEXT")},
                   types={"mood": {"labels": ["happy"]}})
    have = catalog({"post": table(id="INTEGER", title="VARCHAR(250)", views="INTEGER")},
                   types={"mood": {"labels": ["happy", "sad"]}})
    have["tables"]["post"]["columns"]["id"]["not_null"] = True
    have["tables"]["post"]["indexes"]["ix_post_views"] = {"unique": True, "shape": "(views)"}
    assert lines(want, have) == [
        "+ Add column post.views INTEGER",
        "- Drop column post.body",
        "~ Alter column post.id: NULL -> NOT NULL",
        "~ Alter column post.title: VARCHAR(200) -> VARCHAR(250)",
        "+ Add index unique ix_post_views on post (views)",
        "~ Alter enum mood: ('happy') -> ('happy', 'sad')",
    ]


def test_unmanaged_ignored_and_own_tables() -> None:
    want = catalog({"post": table(id="INTEGER")})
    have = catalog({"post": table(id="INTEGER"), "legacy": table(id="INTEGER"),
                    "tag": table(id="INTEGER"), "spatial_ref_sys": table(srid="INTEGER"),
                    "gitmig_migrations": table(app="TEXT"),
                    "alembic_version": table(version_num="TEXT")},
                   sequences={"topology_seq": {"owned_by": None}})
    found = compare(want, have, managed={"post", "tag"},
                    ignore=["spatial_*", "topology_*"])
    assert [d.line() for d in found.differences] == ["+ Create table tag"]
    assert found.unmanaged == ["legacy"]


def test_only_the_tables_asked_for() -> None:
    want = catalog({"post": table(id="INTEGER"), "tag": table(id="INTEGER")})
    have = catalog({"post": table(id="INTEGER")}, types={"other": {"labels": []}})
    assert lines(want, have, only={"post"}) == []
    assert lines(want, have) == ["- Drop table tag", "+ Create enum other ()"]
