"""The schema as data: tables, columns, indexes and constraints, readable from JSON or YAML.

Descriptors hold names, not SQL: the dialect layer turns them into SQLAlchemy objects and its
compilers write the SQL. A default is either a literal (``default``) checked against the
column's type, or a SQL expression (``default_sql``, say ``CURRENT_TIMESTAMP``) used as is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "ColumnDescriptor",
    "ConstraintDescriptor",
    "IndexDescriptor",
    "ModelDescriptor",
    "ReferentialAction",
    "dump_models",
    "load_models",
    "models_from_text",
]

#: What a foreign key does when its referenced row is deleted or its key updated.
ReferentialAction = Literal["CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION"]
#: A literal default: checked against the column's type when the model is built.
DefaultValue = bool | int | float | str


class _Descriptor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnDescriptor(_Descriptor):
    """One column. ``type`` is a registered type name: ``integer``, ``string``, ``enum``..."""

    name: str
    type: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    timezone: bool = False
    nullable: bool = True
    primary_key: bool = False
    autoincrement: bool = False
    unique: bool = False
    default: DefaultValue | None = None
    default_sql: str | None = None
    enum_name: str | None = None
    enum_values: list[str] | None = None


class IndexDescriptor(_Descriptor):
    """An index; ``where`` makes it partial (PostgreSQL and SQLite only)."""

    name: str
    columns: list[str]
    unique: bool = False
    where: str | None = None


class ConstraintDescriptor(_Descriptor):
    """A table constraint: a (composite) primary key, unique, check or foreign key."""

    kind: Literal["primary_key", "unique", "check", "foreign_key"]
    name: str | None = None
    columns: list[str] = Field(default_factory=list)
    expression: str | None = None
    ref_table: str | None = None
    ref_columns: list[str] = Field(default_factory=list)
    on_delete: ReferentialAction | None = None
    on_update: ReferentialAction | None = None


class ModelDescriptor(_Descriptor):
    """One table. ``engine``, ``charset`` and ``collation`` apply to MySQL/MariaDB only."""

    name: str
    columns: list[ColumnDescriptor]
    indexes: list[IndexDescriptor] = Field(default_factory=list)
    constraints: list[ConstraintDescriptor] = Field(default_factory=list)
    engine: str | None = None
    charset: str | None = None
    collation: str | None = None

    def column(self, name: str) -> ColumnDescriptor | None:
        return next((c for c in self.columns if c.name == name), None)

    def primary_key(self) -> list[str]:
        """The key's columns, whether declared on columns or as a constraint."""
        for constraint in self.constraints:
            if constraint.kind == "primary_key":
                return list(constraint.columns)
        return [c.name for c in self.columns if c.primary_key]


_MODELS = TypeAdapter(list[ModelDescriptor])


def models_from_text(text: str, *, fmt: Literal["json", "yaml"] = "json") -> list[ModelDescriptor]:
    """Models from a document: a list of tables, or ``{"models": [...]}``."""
    data: Any = _yaml().safe_load(text) if fmt == "yaml" else json.loads(text)
    if isinstance(data, dict) and "models" in data:
        data = data["models"]
    if isinstance(data, dict):
        data = [data]
    return _MODELS.validate_python(data)


def load_models(path: str | Path) -> list[ModelDescriptor]:
    """Models from a ``.json``, ``.yaml`` or ``.yml`` file (YAML needs the ``yaml`` extra)."""
    path = Path(path)
    fmt: Literal["json", "yaml"] = "yaml" if path.suffix in {".yaml", ".yml"} else "json"
    return models_from_text(path.read_text(encoding="utf-8"), fmt=fmt)


def dump_models(
    models: ModelDescriptor | Iterable[ModelDescriptor], *, fmt: Literal["json", "yaml"] = "json"
) -> str:
    """A document :func:`models_from_text` reads back to equal models; defaults left out."""
    items: Sequence[ModelDescriptor] = (
        [models] if isinstance(models, ModelDescriptor) else list(models)
    )
    data = {"models": [m.model_dump(mode="json", exclude_defaults=True) for m in items]}
    if fmt == "yaml":
        return str(_yaml().safe_dump(data, sort_keys=False))
    return json.dumps(data, indent=2) + "\n"


def _yaml() -> Any:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        from pywatt.models.errors import ModelsError

        raise ModelsError(
            "YAML schemas need PyYAML: install pywatt-models[yaml] or use JSON"
        ) from None
    return yaml
