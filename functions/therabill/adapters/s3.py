"""S3: the audit archive's write-once bucket (Object Lock: the bucket's default retention applies
to every object written)."""

from __future__ import annotations

from typing import Any


class S3ArchiveSink:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, body: bytes) -> None:
        # A checksum is required on a bucket with Object Lock; SHA-256 also proves the bytes.
        self._client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            ChecksumAlgorithm="SHA256",
        )
