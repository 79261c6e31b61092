"""Entries as they arrive by e-mail: the sources (IMAP, Maildir, mbox, a folder of ``.eml``), the messages taken
apart into an entry's files, the receipts sent back.

``raw`` holds what every source hands over (``RawMessage``) and what every receipt is (``Receipt``): the one
interface between the mailbox readers, the message parser and the SMTP sender.
"""
