"""The shared X12 files (written by others, listed in the data folder's MANIFEST) are read where
they are; a test that needs one skips when the folder is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_X12 = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "x12"


def shared_file(folder: str, name: str) -> bytes:
    path = SHARED_X12 / folder / name
    if not path.is_file():
        pytest.skip(f"the shared X12 file {folder}/{name} is not on this machine ({SHARED_X12})")
    return path.read_bytes()


def shared_names(folder: str) -> list[str]:
    """The file names in a shared folder, for parametrizing (empty when it is absent)."""
    path = SHARED_X12 / folder
    return sorted(child.name for child in path.iterdir()) if path.is_dir() else []
