"""pywatt-models: schema models, DDL for SQLite/PostgreSQL/MySQL, and migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
    from pywatt.models.builder import (
        ModelBuilder as ModelBuilder,
        create_model as create_model,
        create_simple_model as create_simple_model,
    )
    from pywatt.models.ddl import (
        add_column_sql as add_column_sql,
        alter_column_sql as alter_column_sql,
        create_sql as create_sql,
        drop_column_sql as drop_column_sql,
        drop_sql as drop_sql,
        generate_complete_sql as generate_complete_sql,
    )
    from pywatt.models.descriptors import (
        ColumnDescriptor as ColumnDescriptor,
        ConstraintDescriptor as ConstraintDescriptor,
        IndexDescriptor as IndexDescriptor,
        ModelDescriptor as ModelDescriptor,
        dump_models as dump_models,
        load_models as load_models,
        models_from_text as models_from_text,
    )
    from pywatt.models.dialects import ModelDialect as ModelDialect, get_dialect as get_dialect
    from pywatt.models.errors import (
        DestructiveChangeError as DestructiveChangeError,
        MigrationError as MigrationError,
        ModelsError as ModelsError,
        SchemaValidationError as SchemaValidationError,
        UnsupportedFeatureError as UnsupportedFeatureError,
    )
    from pywatt.models.migrations import (
        MigrationPlan as MigrationPlan,
        MigrationResult as MigrationResult,
        MigrationStep as MigrationStep,
    )
    from pywatt.models.schema import from_metadata as from_metadata, to_metadata as to_metadata
    from pywatt.models.sync import diff_schema as diff_schema, sync_schema as sync_schema
    from pywatt.models.validation import validate_models as validate_models

# Names load on first use, so discovering this distribution's plugin (which imports the
# package) costs nothing until a component is actually used.
__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "pywatt.models.builder": "create_model create_simple_model ModelBuilder",
        "pywatt.models.ddl": (
            "add_column_sql alter_column_sql create_sql drop_column_sql drop_sql "
            "generate_complete_sql"
        ),
        "pywatt.models.descriptors": (
            "ColumnDescriptor ConstraintDescriptor dump_models IndexDescriptor load_models "
            "ModelDescriptor models_from_text"
        ),
        "pywatt.models.dialects": "get_dialect ModelDialect",
        "pywatt.models.errors": (
            "DestructiveChangeError MigrationError ModelsError SchemaValidationError "
            "UnsupportedFeatureError"
        ),
        "pywatt.models.migrations": "MigrationPlan MigrationResult MigrationStep",
        "pywatt.models.schema": "from_metadata to_metadata",
        "pywatt.models.sync": "diff_schema sync_schema",
        "pywatt.models.validation": "validate_models",
    },
)
