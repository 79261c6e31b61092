"""The store's SQL: every query and statement of the results store lives in this package (``grading.store``
holds the tables and the transactions while the rest moves here); other rooms call its functions."""
