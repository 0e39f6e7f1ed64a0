from __future__ import annotations

import pytest

from pywatt.models import (
    SchemaValidationError,
    create_model,
    create_simple_model,
    dump_models,
    models_from_text,
)


def problems_of(builder, **kwargs) -> list[str]:
    with pytest.raises(SchemaValidationError) as info:
        builder.build(**kwargs)
    return info.value.problems


def test_a_valid_model_builds():
    model = (
        create_simple_model("users")
        .add_varchar_column("username", 100, nullable=False, unique=True)
        .add_boolean_column("is_active", nullable=False, default=True)
        .add_timestamps()
        .build()
    )
    assert [c.name for c in model.columns] == [
        "id", "username", "is_active", "created_at", "updated_at",
    ]  # fmt: skip
    assert model.primary_key() == ["id"]


@pytest.mark.parametrize(
    ("builder", "expected"),
    [
        (
            create_model("t").add_column("a", "money"),
            "unknown column type 'money' for 't.a'; known: biginteger, binary, boolean, date, "
            "datetime, decimal, double, enum, float, integer, json, smallinteger, string, text, "
            "time, uuid",
        ),
        (
            create_model("t").add_integer_column("a").add_integer_column("a"),
            "duplicate column 't.a'",
        ),
        (create_model("t").add_enum_column("e", []), "enum column 't.e' has no values"),
        (create_model("t").add_column("s", "string"), "string column 't.s' needs a length"),
        (
            create_model("t").add_integer_column("n", default="ten"),
            "default 'ten' for column 't.n' does not match its type integer (needs an int)",
        ),
        (
            create_model("t").add_boolean_column("b", default=1),
            "default 1 for column 't.b' does not match its type boolean (needs a bool)",
        ),
        (
            create_model("t").add_date_column("d", default="yesterday"),
            "default 'yesterday' for column 't.d' does not match its type date "
            "(needs an ISO date string)",
        ),
        (
            create_model("t").add_enum_column("e", ["a"], default="b"),
            "default 'b' for column 't.e' is not one of its enum values",
        ),
        (
            create_model("t").add_varchar_column("s", 2, default="abc"),
            "default for column 't.s' is longer than its length 2",
        ),
        (
            create_model("t").add_json_column("j", default="{}"),
            "column 't.j' of type json cannot have a literal default; use default_sql",
        ),
        (
            create_simple_model("t").add_integer_column("p").add_foreign_key(["p"], "t", ["nope"]),
            "foreign key 't(p)' references missing column 't.nope'",
        ),
        (
            create_simple_model("t")
            .add_integer_column("p")
            .add_foreign_key(["p"], "other", ["id"]),
            "foreign key 't(p)' references unknown table 'other'",
        ),
        (
            create_simple_model("t").add_index("ix", "nope"),
            "index 'ix' on 't' names missing column 'nope'",
        ),
        (
            create_simple_model("t").add_index("ix", "id").add_index("ix", "id"),
            "duplicate index name 'ix'",
        ),
        (create_model("t"), "table 't' has no columns"),
        (
            create_simple_model("t").add_check("c", ""),
            "check constraint 'c' on 't' has no expression",
        ),
        (
            create_simple_model("x" * 64),
            f"table name '{'x' * 64}' is 64 characters, over postgresql's limit of 63",
        ),
    ],
)
def test_each_problem_has_its_exact_message(builder, expected):
    assert problems_of(builder) == [expected]


def test_every_problem_is_reported_at_once():
    builder = (
        create_model("t")
        .add_column("a", "money")
        .add_enum_column("e", [])
        .add_integer_column("e")
        .add_index("ix", "zz")
    )
    problems = problems_of(builder)
    assert problems == [
        "duplicate column 't.e'",
        problems[1],  # the unknown type, with the list of known ones
        "enum column 't.e' has no values",
        "index 'ix' on 't' names missing column 'zz'",
    ]
    assert problems[1].startswith("unknown column type 'money' for 't.a'")
    with pytest.raises(SchemaValidationError, match=r"^4 schema problems:\n  - duplicate"):
        builder.build()


def test_identifier_limits_apply_to_the_dialects_asked_for():
    name = "c" * 64
    builder = create_simple_model("t").add_integer_column(name)
    assert problems_of(builder) == [
        f"column name 't.{name}' is 64 characters, over postgresql's limit of 63"
    ]
    assert builder.build(dialects=["sqlite", "mysql"]).column(name) is not None


def test_foreign_keys_may_reference_known_tables():
    teams = create_simple_model("teams").build()
    users = create_simple_model("users").add_integer_column("team_id", references="teams.id")
    assert users.build(known=[teams]).constraints[0].ref_table == "teams"


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_models_round_trip_through_json_and_yaml(fmt):
    model = (
        create_simple_model("pets")
        .add_enum_column("kind", ["cat", "dog"], enum_name="pet_kind", default="cat")
        .add_decimal_column("weight", 6, 2, default=1.5)
        .add_index("ix_pets_kind", "kind", where="kind = 'cat'")
        .table_options(engine="InnoDB", charset="utf8mb4", collation="utf8mb4_unicode_ci")
        .build()
    )
    text = dump_models([model], fmt=fmt)
    assert models_from_text(text, fmt=fmt) == [model]
