"""Databases: connections, the lock, the history table, and running plans as DDL."""
