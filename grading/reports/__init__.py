"""What comes out for people: the results tables (``export``: XLSX/CSV, with every cell of text from outside made
inert by ``cells``), each graded page annotated (``annotate``), and progress per unit and per judge
(``progress``)."""
