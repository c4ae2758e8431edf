"""Persistence: SQLModel tables, the async engine, sessions."""
