"""The revisions: ``v<N>`` makes schema version N (loaded by Alembic from their files, never imported)."""
