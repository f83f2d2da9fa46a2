"""Migration names: numbered per app, named for what they do, or as the user says.

A name is also a file name and a Python module name, so only plain slugs pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gitmig.errors import GitmigError
from gitmig.ops import Operation

SLUG_RE = re.compile(r"[a-z0-9_]+")
MAX_SLUG = 50
MAX_NAME = 100


def slugify(text: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9_]", "_", text.lower())).strip("_")


def validate_name(name: str) -> str:
    """A --name value; refused unless it is a plain slug (it becomes a file name)."""
    if not name:
        raise GitmigError("--name must not be empty")
    if len(name) > MAX_NAME:
        raise GitmigError(f"--name is {len(name)} characters long; keep it under {MAX_NAME}")
    if not SLUG_RE.fullmatch(name):
        raise GitmigError(
            f"--name {name!r} is not a plain name: use lowercase letters, digits and "
            "underscores only (no spaces, dots or path separators)"
        )
    return name


def suggest(operations: Sequence[Operation], initial: bool) -> str:
    """A slug from what the operations do; an app's first migration is always `initial`."""
    if initial and operations:
        return "initial"
    fragments = [slugify(op.fragment()) for op in operations]
    fragments = [f for f in dict.fromkeys(fragments) if f]
    if not fragments:
        return "empty" if not operations else "auto"
    if len(fragments) == 1:
        return fit(fragments[0], MAX_SLUG)
    if len(fragments) == 2:
        both = f"{fragments[0]}_and_{fragments[1]}"
        if len(both) <= MAX_SLUG:
            return both
    return f"{fit(fragments[0], MAX_SLUG - len(AND_MORE))}{AND_MORE}"


AND_MORE = "_and_more"
# Words that say nothing when a cut leaves them last: `post_add` is no name.
DANGLING = frozenset({"add", "drop", "alter", "rename", "to", "and", "index", "create", "fk",
                      "unique", "check"})


def fit(fragment: str, room: int) -> str:
    """The fragment cut after the last whole word that fits in `room` characters.

    A name cut mid-word (`recipe_add_sca`) reads as a typo of a column that never
    existed; whole words only, and never a connecting word left hanging at the end.
    """
    if len(fragment) <= room:
        return fragment
    words: list[str] = []
    for word in fragment.split("_"):
        if len("_".join([*words, word])) > room:
            break
        words.append(word)
    while len(words) > 1 and words[-1] in DANGLING:
        words.pop()
    return "_".join(words) if words else fragment[:room]


def full_name(number: int, slug: str) -> str:
    return f"{number:04d}_{slug}"
