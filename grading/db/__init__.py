"""The store's SQL: every table, migration, query and statement of the results store lives in this package
(``tables``, ``engine``, ``schema`` with the Alembic revisions in ``migrations/``, and one repository module per
domain); ``grading.store.Store`` gathers the repositories, and other rooms call their functions."""
