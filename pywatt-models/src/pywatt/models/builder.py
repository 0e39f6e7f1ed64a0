"""A fluent builder for one table, validated as a whole on :meth:`ModelBuilder.build`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from typing_extensions import Self

from pywatt.models.descriptors import (
    ColumnDescriptor,
    ConstraintDescriptor,
    IndexDescriptor,
    ModelDescriptor,
    ReferentialAction,
)
from pywatt.models.dialects import FIRST_PARTY, ModelDialect, get_dialect
from pywatt.models.errors import SchemaValidationError
from pywatt.models.validation import validate_models

__all__ = ["ModelBuilder", "create_model", "create_simple_model"]


class ModelBuilder:
    """Collects a table's parts; nothing is checked until :meth:`build`, which checks all."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._columns: list[ColumnDescriptor] = []
        self._indexes: list[IndexDescriptor] = []
        self._constraints: list[ConstraintDescriptor] = []
        self._options: dict[str, str | None] = {}

    # --- columns ------------------------------------------------------------------------

    def add_column(self, name: str, type: str, **options: Any) -> Self:
        """Any registered type; ``options`` are :class:`ColumnDescriptor` fields."""
        references = options.pop("references", None)
        on_delete = options.pop("on_delete", None)
        self._columns.append(ColumnDescriptor(name=name, type=type, **options))
        if references is not None:
            table, _, column = str(references).partition(".")
            self.add_foreign_key([name], table, [column or "id"], on_delete=on_delete)
        return self

    def add_integer_column(self, name: str, **options: Any) -> Self:
        return self.add_column(name, "integer", **options)

    def add_bigint_column(self, name: str, **options: Any) -> Self:
        return self.add_column(name, "biginteger", **options)

    def add_varchar_column(self, name: str, length: int, **options: Any) -> Self:
        return self.add_column(name, "string", length=length, **options)

    def add_text_column(self, name: str, **options: Any) -> Self:
        return self.add_column(name, "text", **options)

    def add_boolean_column(self, name: str, **options: Any) -> Self:
        return self.add_column(name, "boolean", **options)

    def add_float_column(self, name: str, **options: Any) -> Self:
        return self.add_column(name, "float", **options)

    def add_decimal_column(self, name: str, precision: int, scale: int, **options: Any) -> Self:
        return self.add_column(name, "decimal", precision=precision, scale=scale, **options)

    def add_date_column(self, name: str, **options: Any) -> Self:
        return self.add_column(name, "date", **options)

    def add_datetime_column(self, name: str, **options: Any) -> Self:
        return self.add_column(name, "datetime", **options)

    def add_json_column(self, name: str, **options: Any) -> Self:
        return self.add_column(name, "json", **options)

    def add_uuid_column(self, name: str, **options: Any) -> Self:
        return self.add_column(name, "uuid", **options)

    def add_binary_column(self, name: str, **options: Any) -> Self:
        return self.add_column(name, "binary", **options)

    def add_enum_column(
        self, name: str, values: Sequence[str], *, enum_name: str | None = None, **options: Any
    ) -> Self:
        return self.add_column(
            name, "enum", enum_values=list(values), enum_name=enum_name, **options
        )

    def add_timestamps(self) -> Self:
        """``created_at`` and ``updated_at``, both defaulting to the server's clock."""
        for name in ("created_at", "updated_at"):
            self.add_datetime_column(name, nullable=False, default_sql="CURRENT_TIMESTAMP")
        return self

    # --- keys, indexes, options -----------------------------------------------------------

    def add_primary_key(self, *columns: str, name: str | None = None) -> Self:
        self._constraints.append(
            ConstraintDescriptor(kind="primary_key", name=name, columns=list(columns))
        )
        return self

    def add_unique(self, *columns: str, name: str | None = None) -> Self:
        self._constraints.append(
            ConstraintDescriptor(kind="unique", name=name, columns=list(columns))
        )
        return self

    def add_check(self, name: str, expression: str) -> Self:
        self._constraints.append(
            ConstraintDescriptor(kind="check", name=name, expression=expression)
        )
        return self

    def add_foreign_key(
        self,
        columns: Sequence[str],
        ref_table: str,
        ref_columns: Sequence[str],
        *,
        name: str | None = None,
        on_delete: ReferentialAction | None = None,
        on_update: ReferentialAction | None = None,
    ) -> Self:
        self._constraints.append(
            ConstraintDescriptor(
                kind="foreign_key",
                name=name,
                columns=list(columns),
                ref_table=ref_table,
                ref_columns=list(ref_columns),
                on_delete=on_delete,
                on_update=on_update,
            )
        )
        return self

    def add_index(
        self, name: str, *columns: str, unique: bool = False, where: str | None = None
    ) -> Self:
        self._indexes.append(
            IndexDescriptor(name=name, columns=list(columns), unique=unique, where=where)
        )
        return self

    def table_options(
        self, *, engine: str | None = None, charset: str | None = None, collation: str | None = None
    ) -> Self:
        """MySQL/MariaDB storage engine, default charset and collation."""
        self._options.update(engine=engine, charset=charset, collation=collation)
        return self

    # --- build ------------------------------------------------------------------------------

    def build(
        self,
        *,
        dialects: Sequence[str | ModelDialect] | None = None,
        known: Sequence[ModelDescriptor] = (),
    ) -> ModelDescriptor:
        """The model, or a :class:`SchemaValidationError` listing every problem.

        :param dialects: check identifier lengths and types against these (default: the
            three first-party dialects).
        :param known: other tables that foreign keys may reference.
        """
        model = ModelDescriptor(
            name=self._name,
            columns=list(self._columns),
            indexes=list(self._indexes),
            constraints=list(self._constraints),
            **self._options,
        )
        targets = list(FIRST_PARTY) if dialects is None else [get_dialect(d) for d in dialects]
        problems = validate_models([model], targets, known=known)
        if problems:
            raise SchemaValidationError(problems)
        return model


def create_model(name: str) -> ModelBuilder:
    """A builder for a table with no columns yet."""
    return ModelBuilder(name)


def create_simple_model(name: str) -> ModelBuilder:
    """A builder for a table that starts with an auto-incrementing ``id`` primary key."""
    return ModelBuilder(name).add_integer_column(
        "id", primary_key=True, autoincrement=True, nullable=False
    )
