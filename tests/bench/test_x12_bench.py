"""The bench's X12 section measures real work: the 270s it builds and the files it reads."""

from __future__ import annotations

import pytest

from bench import x12_ops


def test_the_x12_section_times_the_builder_and_each_shared_file_it_can_read() -> None:
    result = x12_ops.measure(copies=50)
    built = result.rates[0]
    assert built.what.startswith("build a 270") and built.documents == 50 and built.segments >= 50 * 10
    if not x12_ops.SHARED_X12.exists():
        pytest.skip(result.skipped or "no shared data")
    read_271, volume = result.rates[1:]
    assert read_271.documents == 50 and read_271.segments > read_271.documents * 10
    assert volume.documents == 1 and volume.segments > 11_000  # the 820-claim file
    text = x12_ops.render(result)
    assert "read a 271 (5 shared files" in text and "820-claim 837P" in text
