"""The archive: each new audit record is copied to write-once storage (S3 with Object Lock), where
it is kept six years; the table keeps it for the hot period only."""

from __future__ import annotations

from typing import Protocol

from therabill.audit.models import AuditRecord


class ArchiveSink(Protocol):
    """Write-once object storage (the port; ``adapters/s3.py`` implements it)."""

    def put(self, key: str, body: bytes) -> None:
        """Write ``key`` once; an object already there is left as it is (no error)."""


def archive_key(record: AuditRecord) -> str:
    """``audit/<prc>/<yyyy>/<mm>/<dd>/<aud>.json`` (UTC date): by practice, then by day."""
    day = record.at.strftime("%Y/%m/%d")
    return f"audit/{record.practice_id}/{day}/{record.id}.json"


class AuditArchive:
    def __init__(self, *, sink: ArchiveSink) -> None:
        self._sink = sink

    def archive(self, record: AuditRecord) -> str:
        """Copy one record once: the same record again finds its object and writes nothing."""
        key = archive_key(record)
        self._sink.put(key, record.model_dump_json().encode())
        return key
