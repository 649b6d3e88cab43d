"""Domain errors: what went wrong in terms of documents and indexes; service/errors.py maps them to HTTP."""

from __future__ import annotations


class QAError(Exception):
    """Base of the errors a caller can act on; the message is safe to show to a user."""


class InvalidInput(QAError, ValueError):
    """The request names something that cannot exist: an unsafe path, an unknown source filter."""


class EmptyDocument(InvalidInput):
    """The file is readable but holds no text once normalised (e.g. only pinyin annotations)."""


class NotFound(QAError):
    """No such document."""


class Conflict(QAError):
    """The change would leave the corpus in a state the index cannot have (e.g. no document at all)."""


class Duplicate(Conflict):
    """The uploaded content is already indexed under another name."""


class StorageFull(QAError):
    """No space was left to store a document or its index; nothing was changed."""


class IndexUnavailable(QAError):
    """No index is loaded, or the one on disk cannot be served with the configured settings."""
