"""Fleets: one migration history applied to many databases or tenant schemas.

A fleet is named in `[tool.gitmig.fleets.NAME]` (spec: what the user wrote → targets);
`--shard I/N` takes a stable slice of it (shard); the runner migrates targets N at a time,
each in its own process under that target's own migration lock, and keeps going past a
failure (runner); the survey reads where every target stands, for showmigrations, status
and `migrate --check` (survey). The database of each target stays the only record of
what was applied, so a killed run is resumed by running it again.
"""
