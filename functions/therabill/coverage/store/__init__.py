"""Coverage items, in the practice's partition (``COVERAGE#<cli>#<cov>``): mapping between the
domain model and the table, and the versioned writes. Reads are Queries by key prefix."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from therabill.adapters.dynamo import Table
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.errors import ConflictError, NotFoundError
from therabill.core.ids import is_id
from therabill.coverage.errors import CoverageChangedError, CoverageNotFoundError
from therabill.coverage.models import Coverage


def coverage_item(practice_id: str, c: Coverage) -> dict[str, Any]:
    data = c.model_dump(mode="json", exclude_none=True)
    data["created_at"] = iso(c.created_at)
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.coverage_sk(c.client_id, c.id),
        "type": "coverage",
        **data,
    }


def coverage_from_item(item: dict[str, Any]) -> Coverage:
    fields = {k: v for k, v in item.items() if k not in ("PK", "SK", "type")}
    return Coverage.model_validate({**fields, "created_at": parse_iso(item["created_at"])})


class CoverageStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, practice_id: str, coverage: Coverage) -> None:
        self.table.put_new(coverage_item(practice_id, coverage))

    def get(self, practice_id: str, client_id: str, coverage_id: str) -> Coverage:
        if not is_id(coverage_id, "cov"):
            raise CoverageNotFoundError("coverage not found")
        item = self.table.get(keys.practice_pk(practice_id), keys.coverage_sk(client_id, coverage_id))
        if not item:
            raise CoverageNotFoundError("coverage not found")
        return coverage_from_item(item)

    def of_client(self, practice_id: str, client_id: str) -> list[Coverage]:
        """The client's coverage, oldest first (one Query)."""
        items = self.table.query_all(keys.practice_pk(practice_id), prefix=keys.coverage_prefix(client_id))
        return [coverage_from_item(i) for i in items]

    def of_practice(self, practice_id: str) -> dict[str, list[Coverage]]:
        """Every client's coverage in the practice, by client (one paged Query, never one per
        client: the nightly run reads tonight's clients at once)."""
        out: dict[str, list[Coverage]] = defaultdict(list)
        for item in self.table.query_all(keys.practice_pk(practice_id), prefix=keys.coverage_prefix()):
            c = coverage_from_item(item)
            out[c.client_id].append(c)
        return dict(out)

    def update(
        self,
        practice_id: str,
        client_id: str,
        coverage_id: str,
        changes: dict[str, Any],
        *,
        expected_version: int | None,
    ) -> Coverage:
        pk, sk = keys.practice_pk(practice_id), keys.coverage_sk(client_id, coverage_id)
        try:
            item = self.table.patch(pk, sk, changes, expected_version=expected_version, what="coverage")
        except NotFoundError as exc:
            raise CoverageNotFoundError("coverage not found") from exc
        except ConflictError as exc:
            raise CoverageChangedError(exc.message, **exc.details) from exc
        return coverage_from_item(item)
