"""s3batch: the S3 -> EventBridge -> Batch -> database pipeline on one machine."""

from __future__ import annotations

from s3batch.errors import S3BatchError

__version__ = "0.1.0"
__all__ = ["S3BatchError", "__version__"]
