"""The archive: each new audit record is copied to write-once storage (S3 with Object Lock), where
it is kept six years; the table keeps it for the hot period only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from therabill.audit.models import AuditRecord
from therabill.audit.service import AuditService


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


def backfill(
    audit: AuditService, archive: AuditArchive, practice_id: str, start: datetime, end: datetime
) -> int:
    """Archive every record of the practice in [start, end) that the stream did not (its failure
    queue keeps only stream positions, and the stream keeps records for 24 hours): the records
    are read back from the table, page by page, and each written once (one already archived is
    left as it is). Returns how many records were read."""
    done, cursor = 0, None
    while True:
        page = audit.query(practice_id, start=start, end=end, limit=100, cursor=cursor)
        done += _archive_all(archive, page.items)
        cursor = page.cursor
        if cursor is None:
            return done


def _archive_all(archive: AuditArchive, records: Iterable[AuditRecord]) -> int:
    count = 0
    for record in records:
        archive.archive(record)
        count += 1
    return count
