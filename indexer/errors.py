"""Errors of the engines an index lives in, for the service to map to HTTP."""


class StoreUnavailable(ConnectionError):
    """The engine holding a loaded index's vectors (a Milvus server) did not answer a query."""
