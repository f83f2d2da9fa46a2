"""git hooks: installing gitmig's scripts and the checks they run."""
