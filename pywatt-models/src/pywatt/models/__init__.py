"""pywatt-models: schema models, DDL for SQLite/PostgreSQL/MySQL, and migrations."""

from __future__ import annotations

from pywatt.models.builder import ModelBuilder, create_model, create_simple_model
from pywatt.models.ddl import (
    add_column_sql,
    alter_column_sql,
    create_sql,
    drop_column_sql,
    drop_sql,
    generate_complete_sql,
)
from pywatt.models.descriptors import (
    ColumnDescriptor,
    ConstraintDescriptor,
    IndexDescriptor,
    ModelDescriptor,
    dump_models,
    load_models,
    models_from_text,
)
from pywatt.models.dialects import ModelDialect, get_dialect
from pywatt.models.errors import (
    DestructiveChangeError,
    MigrationError,
    ModelsError,
    SchemaValidationError,
    UnsupportedFeatureError,
)
from pywatt.models.migrations import MigrationPlan, MigrationResult, MigrationStep
from pywatt.models.schema import from_metadata, to_metadata
from pywatt.models.sync import diff_schema, sync_schema
from pywatt.models.validation import validate_models

__all__ = [
    "ColumnDescriptor",
    "ConstraintDescriptor",
    "DestructiveChangeError",
    "IndexDescriptor",
    "MigrationError",
    "MigrationPlan",
    "MigrationResult",
    "MigrationStep",
    "ModelBuilder",
    "ModelDescriptor",
    "ModelDialect",
    "ModelsError",
    "SchemaValidationError",
    "UnsupportedFeatureError",
    "add_column_sql",
    "alter_column_sql",
    "create_model",
    "create_simple_model",
    "create_sql",
    "diff_schema",
    "drop_column_sql",
    "drop_sql",
    "dump_models",
    "from_metadata",
    "generate_complete_sql",
    "get_dialect",
    "load_models",
    "models_from_text",
    "sync_schema",
    "to_metadata",
    "validate_models",
]
