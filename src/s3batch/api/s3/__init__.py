"""The S3 REST-XML protocol (path-style addressing) over the object store.

Concurrency: writes (which fsync) and blob reads run in the thread pool; point reads of
metadata run on the event loop, because a SQLite read in WAL mode never waits for a
writer and costs tens of microseconds, less than a thread hop.
"""
