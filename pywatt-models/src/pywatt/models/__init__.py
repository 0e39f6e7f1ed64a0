"""pywatt-models: schema models, DDL for SQLite/PostgreSQL/MySQL, and migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
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

# Names load on first use, so discovering this distribution's plugin (which imports the
# package) costs nothing until a component is actually used.
_LAZY: dict[str, str] = {
    "ModelBuilder": "pywatt.models.builder",
    "create_model": "pywatt.models.builder",
    "create_simple_model": "pywatt.models.builder",
    "add_column_sql": "pywatt.models.ddl",
    "alter_column_sql": "pywatt.models.ddl",
    "create_sql": "pywatt.models.ddl",
    "drop_column_sql": "pywatt.models.ddl",
    "drop_sql": "pywatt.models.ddl",
    "generate_complete_sql": "pywatt.models.ddl",
    "ColumnDescriptor": "pywatt.models.descriptors",
    "ConstraintDescriptor": "pywatt.models.descriptors",
    "IndexDescriptor": "pywatt.models.descriptors",
    "ModelDescriptor": "pywatt.models.descriptors",
    "dump_models": "pywatt.models.descriptors",
    "load_models": "pywatt.models.descriptors",
    "models_from_text": "pywatt.models.descriptors",
    "ModelDialect": "pywatt.models.dialects",
    "get_dialect": "pywatt.models.dialects",
    "DestructiveChangeError": "pywatt.models.errors",
    "MigrationError": "pywatt.models.errors",
    "ModelsError": "pywatt.models.errors",
    "SchemaValidationError": "pywatt.models.errors",
    "UnsupportedFeatureError": "pywatt.models.errors",
    "MigrationPlan": "pywatt.models.migrations",
    "MigrationResult": "pywatt.models.migrations",
    "MigrationStep": "pywatt.models.migrations",
    "from_metadata": "pywatt.models.schema",
    "to_metadata": "pywatt.models.schema",
    "diff_schema": "pywatt.models.sync",
    "sync_schema": "pywatt.models.sync",
    "validate_models": "pywatt.models.validation",
}

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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
