"""Pictures of a client's insurance card (front and back), kept in the private documents bucket.

Staff upload a picture straight to storage with a short-lived signed form (the API never carries
the bytes: a photo is larger than a request body may be) and read it back through a short-lived
signed link. Each side keeps its pictures under its own prefix; the newest is the one shown. The
bucket encrypts every object with its own key and blocks public access; a picture is health
information (a member id, a name, often a date of birth): its key holds only ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from therabill.core.clock import Clock
from therabill.core.ids import new_id
from therabill.coverage.errors import CoverageInvalidError, CoverageRemovedError
from therabill.coverage.models import Coverage
from therabill.coverage.service import CoverageService

Side = Literal["front", "back"]
SIDES: tuple[Side, ...] = ("front", "back")
CONTENT_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/heic": "heic", "application/pdf": "pdf"}
MAX_BYTES = 10 * 1024 * 1024  # a phone's photo of a card, with room to spare
UPLOAD_SECONDS = 600  # the signed form's life
READ_SECONDS = 300  # a signed link's life


@dataclass(frozen=True)
class UploadForm:
    """Where and how to upload: POST ``url`` as multipart/form-data with ``fields`` and the file
    last (the storage's signed form)."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class StoredPicture:
    key: str
    size: int
    uploaded_at: datetime


@dataclass(frozen=True)
class CardPicture:
    side: Side
    content_type: str
    size: int
    uploaded_at: datetime
    url: str  # signed, short-lived
    url_expires_at: datetime


class PictureStorage(Protocol):
    """The port to the documents bucket (S3 in AWS and locally)."""

    def upload_form(
        self, key: str, *, content_type: str, max_bytes: int, seconds: int
    ) -> tuple[str, dict[str, str]]:
        """A signed form that accepts exactly one object at ``key``, of ``content_type``, at
        most ``max_bytes`` long, for ``seconds``."""
        ...

    def pictures(self, prefix: str) -> list[StoredPicture]:
        """The objects under ``prefix``, every page."""
        ...

    def read_link(self, key: str, *, seconds: int) -> str: ...

    def purge(self, prefix: str) -> None:
        """Delete every object under ``prefix``, every version of it: gone, not hidden."""
        ...


def _prefix(practice_id: str, client_id: str, coverage_id: str, side: Side | None = None) -> str:
    base = f"card-images/{practice_id}/{client_id}/{coverage_id}/"
    return f"{base}{side}/" if side else base


def _side_and_type(key: str) -> tuple[Side, str]:
    parts = key.split("/")
    side: Side = "back" if parts[-2] == "back" else "front"
    extension = parts[-1].rpartition(".")[2]
    content_type = next((t for t, e in CONTENT_TYPES.items() if e == extension), "application/octet-stream")
    return side, content_type


class CardImages:
    def __init__(self, *, coverage: CoverageService, storage: PictureStorage, clock: Clock) -> None:
        self._coverage = coverage
        self._storage = storage
        self._clock = clock

    def _existing(self, practice_id: str, client_id: str, coverage_id: str) -> Coverage:
        return self._coverage.get(practice_id, client_id, coverage_id)  # CoverageNotFoundError: 404

    def upload(
        self, practice_id: str, client_id: str, coverage_id: str, *, side: Side, content_type: str
    ) -> UploadForm:
        """A signed form for one new picture of ``side`` (it becomes the one shown once uploaded).
        Not for a coverage removed (entered in error): its pictures can only be removed."""
        if self._existing(practice_id, client_id, coverage_id).status == "removed":
            raise CoverageRemovedError("this coverage was removed: add the right one and its card")
        if content_type not in CONTENT_TYPES:
            allowed = ", ".join(sorted(CONTENT_TYPES))
            raise CoverageInvalidError(f"content_type must be one of {allowed}", field="content_type")
        name = f"{new_id('img')}.{CONTENT_TYPES[content_type]}"
        key = _prefix(practice_id, client_id, coverage_id, side) + name
        url, fields = self._storage.upload_form(
            key, content_type=content_type, max_bytes=MAX_BYTES, seconds=UPLOAD_SECONDS
        )
        return UploadForm(url=url, fields=fields, expires_at=self._in(UPLOAD_SECONDS))

    def shown(self, practice_id: str, client_id: str, coverage_id: str) -> list[CardPicture]:
        """The newest picture of each side uploaded, front first, each with a signed link."""
        self._existing(practice_id, client_id, coverage_id)
        newest: dict[Side, StoredPicture] = {}
        for picture in self._storage.pictures(_prefix(practice_id, client_id, coverage_id)):
            side, _ = _side_and_type(picture.key)
            if side not in newest or (picture.uploaded_at, picture.key) > (
                newest[side].uploaded_at,
                newest[side].key,
            ):
                newest[side] = picture
        out = []
        for side in SIDES:
            if side in newest:
                picture = newest[side]
                out.append(
                    CardPicture(
                        side=side,
                        content_type=_side_and_type(picture.key)[1],
                        size=picture.size,
                        uploaded_at=picture.uploaded_at,
                        url=self._storage.read_link(picture.key, seconds=READ_SECONDS),
                        url_expires_at=self._in(READ_SECONDS),
                    )
                )
        return out

    def remove(self, practice_id: str, client_id: str, coverage_id: str, side: Side) -> int:
        """Delete every picture of ``side``, every stored version of each (a picture uploaded to
        the wrong client must not linger); how many were shown (0: nothing to do)."""
        self._existing(practice_id, client_id, coverage_id)
        prefix = _prefix(practice_id, client_id, coverage_id, side)
        shown = len(self._storage.pictures(prefix))
        self._storage.purge(prefix)
        return shown

    def _in(self, seconds: int) -> datetime:
        return self._clock() + timedelta(seconds=seconds)
