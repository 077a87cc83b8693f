"""S3: the audit archive's write-once bucket (Object Lock: the bucket's default retention applies
to every object written), and the private documents bucket (KMS-encrypted by its default key)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from therabill.core.errors import DependencyUnavailableError


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


class S3Documents:
    """Documents of one kind under a prefix of the private documents bucket (eligibility's raw
    271s): ``put`` and ``get`` by key; S3 trouble is a DependencyUnavailableError naming no key."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, body: bytes) -> None:
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                ContentType="application/edi-x12",  # the bucket's default KMS key encrypts it
            )
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailableError("the documents bucket could not be written") from exc

    def get(self, key: str) -> bytes | None:
        try:
            out = self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise DependencyUnavailableError("the documents bucket could not be read") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailableError("the documents bucket could not be read") from exc
        body: bytes = out["Body"].read()
        return body
