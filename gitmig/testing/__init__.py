"""Testing migrations themselves: the stairway, a migrator for data migrations, the checks
(gitmig.testing.plugin makes them a pytest plugin; `gitmig test` runs it)."""
