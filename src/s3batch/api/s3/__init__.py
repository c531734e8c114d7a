"""The S3 REST-XML protocol (path-style addressing) over the object store."""
