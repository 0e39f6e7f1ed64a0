from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

# --- protocol vectors (test_vectors.py) ------------------------------------------------------
# Every ``*.json`` and ``*.jsonl`` file in the vectors folder is read, and each entry goes to the
# fixture its own fields call for (not its file name), so vectors added later, in a known file
# or a new one, are picked up without touching the tests.

VECTOR_KINDS = ("ipc_vector", "envelope_vector", "invalid_input", "other_vector", "log_sample")


def vectors_dir() -> Path:
    env = os.environ.get("PYWATT_PROTOCOL_VECTORS")
    if env:
        return Path(env)
    shared = Path(__file__).resolve().parents[2].parent / "shared/protocol/vectors"
    if shared.is_dir():
        return shared
    return Path(__file__).resolve().parents[2] / "protocol/vectors"


def classify(entry: dict[str, Any]) -> str:
    """The fixture an entry belongs to, judged by the fields it carries."""
    if "target_type" in entry:
        return "invalid_input"  # a deserialization probe
    envelope_keys = {"encoded_message_json", "msgpack_named_hex", "msgpack_named_error"}
    if envelope_keys & entry.keys():
        return "envelope_vector"  # a Message<T> envelope with its frame
    ipc_directions = {"module_to_orchestrator", "orchestrator_to_module"}
    if entry.get("direction") in ipc_directions and (
        "roundtrip_ok" in entry or "serialize_error" in entry
    ):
        return "ipc_vector"  # one message variant as serde prints it
    return "other_vector"


def load_all_vectors() -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {kind: [] for kind in VECTOR_KINDS}
    for path in sorted(vectors_dir().iterdir()):
        if path.suffix == ".jsonl":
            lines = path.read_text(encoding="utf-8").splitlines()
            found["log_sample"] += [
                {"name": f"{path.stem}:line{i + 1}", "line": line}
                for i, line in enumerate(lines)
                if line.strip()
            ]
        elif path.suffix == ".json":
            entries = json.loads(path.read_text(encoding="utf-8"))
            assert isinstance(entries, list), f"{path.name} is not a list of vectors"
            for entry in entries:
                found[classify(entry)].append(entry)
    return found


_VECTORS: dict[str, list[dict[str, Any]]] | None = None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    global _VECTORS
    for kind in VECTOR_KINDS:
        if kind in metafunc.fixturenames:
            if _VECTORS is None:
                _VECTORS = load_all_vectors()
            entries = _VECTORS[kind]
            metafunc.parametrize(kind, entries, ids=[str(e["name"]) for e in entries])


@pytest.fixture
def all_vectors() -> dict[str, list[dict[str, Any]]]:
    return load_all_vectors()


# --- end protocol vectors --------------------------------------------------------------------


# --- runtime: isolation ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_redactor():
    """Secrets registered by one test (some are a single character) must not mask the next."""
    from pywatt.core.redact import get_redactor

    get_redactor().clear()
    yield
    get_redactor().clear()
