"""`gitmig lint`: what a migration would do to a production database, judged before merge.

A correct migration can still take a site down: an index built under a write lock, a
foreign key validated under lock, a column dropped while the running code still reads
it. The rules here look at operations and the schema state around them (never at a
database) and say what happens and the safe way; gitmig.actions.lint chooses which
migrations to judge (from git) and which models the running code has (the merge base).
"""
