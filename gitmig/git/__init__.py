"""The repository through pygit2: snapshots of files, other revisions, conflicts."""
