"""The S3 REST-XML protocol (path-style addressing) over the object store.

Concurrency: blob writes and reads (bulk bytes, large fsyncs) run in the thread pool.
Point reads of metadata run on the event loop, because a SQLite read in WAL mode never
waits for a writer and costs tens of microseconds, less than a thread hop; so do small
metadata writes (see :func:`.call.small_write` for the measurement behind that).
"""
