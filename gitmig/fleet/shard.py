"""`--shard I/N`: a stable slice of a fleet, for an orchestrator that runs N copies.

A target's shard depends on nothing but its own identity (its URL without the password,
and its schema), so adding or removing a tenant moves no other tenant to another shard,
and every machine of a CI matrix or a Kubernetes indexed job computes the same slices
with no coordinator. Shards are numbered 1 to N.
"""

from __future__ import annotations

import hashlib
import re

from gitmig.errors import GitmigError
from gitmig.fleet.spec import Target

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse(text: str) -> tuple[int, int]:
    match = _SHARD.match(text)
    if match is None:
        raise GitmigError(f"--shard {text!r} is not I/N (e.g. --shard 2/4)")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise GitmigError(
            f"--shard {text}: shards are numbered 1 to N, N at least 1",
            hint="Kubernetes' JOB_COMPLETION_INDEX counts from 0: pass "
                 "--shard $((JOB_COMPLETION_INDEX + 1))/N")
    return index, count


def shard_of(target: Target, count: int) -> int:
    """1 to count, the same on every machine and for every gitmig version."""
    digest = hashlib.sha256(target.key.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def select(targets: list[Target], index: int, count: int) -> list[Target]:
    return [t for t in targets if shard_of(t, count) == index]
