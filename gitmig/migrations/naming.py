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
        name = fragments[0]
    elif len(fragments) == 2:
        name = f"{fragments[0]}_and_{fragments[1]}"
    else:
        name = f"{fragments[0]}_and_more"
    if len(name) > MAX_SLUG:
        name = fragments[0] if len(fragments) == 1 else f"{fragments[0]}_and_more"
    if len(name) > MAX_SLUG:
        name = name[:MAX_SLUG].rstrip("_")
    return name


def full_name(number: int, slug: str) -> str:
    return f"{number:04d}_{slug}"
