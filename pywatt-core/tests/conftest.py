from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

# --- protocol vectors (test_vectors.py) ------------------------------------------------------
# Each fixture name below is parametrized over every entry of one vector file, so a vector
# added to the file later is picked up without touching the tests.

VECTOR_FILES = {
    "ipc_vector": "ipc_vectors.json",
    "envelope_vector": "envelope_vectors.json",
    "invalid_input": "invalid_inputs.json",
    "other_vector": "other_vectors.json",
    "log_sample": "stderr_log_samples.jsonl",
}


def vectors_dir() -> Path:
    env = os.environ.get("PYWATT_PROTOCOL_VECTORS")
    if env:
        return Path(env)
    shared = Path(__file__).resolve().parents[2].parent / "shared/protocol/vectors"
    if shared.is_dir():
        return shared
    return Path(__file__).resolve().parents[2] / "protocol/vectors"


def load_vectors(filename: str) -> list[dict[str, Any]]:
    path = vectors_dir() / filename
    if filename.endswith(".jsonl"):
        lines = path.read_text(encoding="utf-8").splitlines()
        return [{"name": f"line{i + 1}", "line": line} for i, line in enumerate(lines) if line]
    entries: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return entries


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for argname, filename in VECTOR_FILES.items():
        if argname in metafunc.fixturenames:
            entries = load_vectors(filename)
            metafunc.parametrize(argname, entries, ids=[str(e["name"]) for e in entries])


@pytest.fixture
def vector_file_names() -> set[str]:
    return {p.name for p in vectors_dir().iterdir() if p.is_file()}


# --- end protocol vectors --------------------------------------------------------------------


# --- runtime: isolation ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_redactor():
    """Secrets registered by one test (some are a single character) must not mask the next."""
    from pywatt.core.redact import get_redactor

    get_redactor().clear()
    yield
    get_redactor().clear()
