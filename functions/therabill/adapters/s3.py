"""S3: the audit archive's write-once bucket (Object Lock: the bucket's default retention applies
to every object written)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


class S3ArchiveSink:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, body: bytes) -> None:
        """Write ``key`` once: a conditional write (If-None-Match), so a record delivered again
        leaves the object as it is (no second version) and needs no read permission to know."""
        try:
            # A checksum is required on a bucket with Object Lock; SHA-256 also proves the bytes.
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                ChecksumAlgorithm="SHA256",
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "PreconditionFailed":
                raise
