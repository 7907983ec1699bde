"""Shared fixtures: the path of ../shared (data and official weights)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"
WEIGHTS = SHARED / "weights"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture(scope="session")
def data_dir(shared: Path) -> Path:
    return shared / "data"


@pytest.fixture()
def weights_env(monkeypatch, shared: Path) -> Path:
    """Point $IVIF_WEIGHTS_DIR at ../shared/weights for the test."""
    monkeypatch.setenv("IVIF_WEIGHTS_DIR", str(shared / "weights"))
    return shared / "weights"
