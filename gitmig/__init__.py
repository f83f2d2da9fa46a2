"""gitmig: Django's migration workflow for SQLAlchemy models, built on git.

Kept import-free so that `gitmig --help` and the pre-commit hook start fast.
"""

__version__ = "0.1.0"
