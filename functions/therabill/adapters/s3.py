"""S3: the audit archive's write-once bucket (Object Lock: the bucket's default retention applies
to every object written), and the private documents bucket (KMS-encrypted by its default key):
eligibility's raw 271s and the pictures of insurance cards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from therabill.core.errors import DependencyUnavailableError
from therabill.coverage.card_images import StoredPicture


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


class S3Pictures:
    """The documents bucket as the coverage capability's ``PictureStorage``: signed upload forms
    (S3's POST policy: the exact key, the content type, a size range, an expiry), listings by
    prefix, signed read links, deletions. The bucket's default encryption (its own KMS key) applies
    to every object; nothing here names a key or an algorithm."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def upload_form(
        self, key: str, *, content_type: str, max_bytes: int, seconds: int
    ) -> tuple[str, dict[str, str]]:
        form = self._client.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=seconds,
        )
        return str(form["url"]), {str(k): str(v) for k, v in form["fields"].items()}

    def pictures(self, prefix: str) -> list[StoredPicture]:
        out: list[StoredPicture] = []
        with _unavailable("the pictures could not be listed"):
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix)
            for page in pages:
                out.extend(
                    StoredPicture(
                        key=o["Key"], size=int(o["Size"]), uploaded_at=o["LastModified"].astimezone(UTC)
                    )
                    for o in page.get("Contents", [])
                )
        return out

    def read_link(self, key: str, *, seconds: int) -> str:
        return str(
            self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=seconds
            )
        )

    def purge(self, prefix: str) -> None:
        """Delete every version of every object under ``prefix`` and their delete markers: the
        bucket keeps versions, and a plain delete would only hide a picture. A version S3 could
        not delete (it answers 200 with ``Errors``) is a DependencyUnavailableError: try again."""
        with _unavailable("the pictures could not be deleted"):
            pages = self._client.get_paginator("list_object_versions").paginate(
                Bucket=self._bucket, Prefix=prefix
            )
            versions = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for page in pages
                for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            ]
            for start in range(0, len(versions), 1000):  # DeleteObjects takes 1,000 keys a call
                answer = self._client.delete_objects(
                    Bucket=self._bucket, Delete={"Objects": versions[start : start + 1000], "Quiet": True}
                )
                if answer.get("Errors"):
                    raise DependencyUnavailableError("some pictures could not be deleted; try again")


@contextmanager
def _unavailable(what: str) -> Iterator[None]:
    """S3 trouble (throttled, down, the key refused) as a DependencyUnavailableError naming no key."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise DependencyUnavailableError(what) from exc


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
