"""The benchmark: gitmig beside Django and Alembic on one schema history (see README.md)."""
