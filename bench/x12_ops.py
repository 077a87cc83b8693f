"""X12 throughput: how fast Therabill reads 271s and large files, and builds 270s.

Reads the real files in ``../shared/data/x12`` (written by others; see its MANIFEST) when they are
there: each 271 that reads without a fatal problem, many times over, and the 820-claim 837P
volume file with the generic reader (envelopes and counts checked). Builds 270s from a made-up
inquiry with the same writer the eligibility checks use. CPU time in this process (one core).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED_X12 = ROOT.parent / "shared" / "data" / "x12"
VOLUME_837 = "ims_many_claims_820.837"


@dataclass
class Rate:
    what: str
    documents: int
    segments: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0

    @property
    def segments_per_second(self) -> float:
        return self.segments / self.seconds if self.seconds else 0.0


@dataclass
class X12Result:
    rates: list[Rate]
    skipped: str | None = None  # why the shared files were not read

    def as_dict(self) -> dict[str, Any]:
        return {
            "skipped": self.skipped,
            "rates": [
                {
                    **asdict(r),
                    "per_second": round(r.per_second),
                    "segments_per_second": round(r.segments_per_second),
                }
                for r in self.rates
            ],
        }


def _timed(what: str, copies: int, segments_each: int, work: Any) -> Rate:
    started = time.process_time()
    for _ in range(copies):
        work()
    return Rate(what, copies, copies * segments_each, time.process_time() - started)


def _read_271s(copies: int) -> Rate | None:
    from therabill.x12.eligibility.response import read_271
    from therabill.x12.reader import read

    readable = []
    for path in sorted((SHARED_X12 / "271").glob("*.271")):
        data = path.read_bytes()
        try:
            read_271(data)
        except Exception:  # the negative tests (a foreign component separator)
            continue
        readable.append((data, len(read(data).segments)))
    if not readable:
        return None
    each = copies // len(readable)
    rates = [_timed("271", each, segs, lambda d=data: read_271(d)) for data, segs in readable]
    return Rate(
        f"read a 271 ({len(readable)} shared files, eligibility read)",
        sum(r.documents for r in rates),
        sum(r.segments for r in rates),
        sum(r.seconds for r in rates),
    )


def _read_volume(copies: int) -> Rate | None:
    from therabill.x12.reader import read

    path = SHARED_X12 / "837p" / VOLUME_837
    if not path.exists():
        return None
    data = path.read_bytes()
    segments = len(read(data).segments)
    return _timed(
        f"read the 820-claim 837P ({len(data) // 1024} KB, envelopes checked)",
        copies,
        segments,
        lambda: read(data),
    )


def _build_270s(copies: int) -> Rate:
    from therabill.x12.eligibility.inquiry import (
        EligibilityInquiry,
        Payer,
        Person,
        Provider,
        build_270,
        service_types_for,
    )
    from therabill.x12.reader import read
    from therabill.x12.writer import Envelope, Party, SequentialControlNumbers

    inquiry = EligibilityInquiry(
        payer=Payer("SANDBOX PAYER", "SANDBOX01"),
        provider=Provider("1234567893", organization_name="HARBOR SPEECH THERAPY"),
        subscriber=Person("DOE", "JANE", date(1990, 1, 2), "W000000001"),
        date_of_service=date(2026, 12, 7),
        trace_number="BENCH-270",
        originator_id="1234567890",
        service_types=service_types_for("mental_health"),
    )
    envelope = Envelope(Party("ZZ", "THERABILL"), Party("ZZ", "CLEARHOUSE"), "THERABILL", "CLEARHOUSE", "T")
    numbers = SequentialControlNumbers()
    when = datetime(2026, 12, 4, 14, 30, tzinfo=UTC)

    def build() -> bytes:
        return build_270(inquiry, envelope=envelope, created_at=when, numbers=numbers)

    segments = len(read(build()).segments)
    return _timed("build a 270 (one inquiry, mental health service types)", copies, segments, build)


def measure(copies: int = 2000) -> X12Result:
    rates = [_build_270s(copies)]
    if not SHARED_X12.exists():
        return X12Result(rates, skipped=f"{SHARED_X12} is absent: only the 270 builder was timed")
    for rate in (_read_271s(copies), _read_volume(max(1, copies // 200))):
        if rate is not None:
            rates.append(rate)
    return X12Result(rates)


def render(result: X12Result) -> str:
    lines = ["X12 throughput (CPU time, one process; the shared files from ../shared/data/x12)", ""]
    header = f"{'operation':<62} {'documents':>9} {'docs/s':>9} {'segments/s':>11}"
    lines += [header, "-" * len(header)]
    for r in result.rates:
        lines.append(f"{r.what:<62} {r.documents:>9} {r.per_second:>9.0f} {r.segments_per_second:>11.0f}")
    if result.skipped:
        lines += ["", result.skipped]
    return "\n".join(lines)
