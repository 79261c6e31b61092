"""Alembic migrations of the results store (``env.py``; one revision per schema version in ``versions/``)."""
