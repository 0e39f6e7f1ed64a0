from __future__ import annotations

import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pywatt.cli import cli
from pywatt.cli.run import derive_id, parse_env, plan_targets
from pywatt.core.plugins import reset_plugins


@pytest.fixture(autouse=True)
def _fresh_plugins():
    reset_plugins()
    yield
    reset_plugins()


@pytest.fixture
def scripts(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / "hello.py", tmp_path / "other" / "billing.py"]
    for path in paths:
        path.parent.mkdir(exist_ok=True)
        path.write_text("")
    return paths


def test_script_runs_under_this_interpreter_with_stem_id(scripts):
    [hello] = plan_targets(scripts[:1], [], [])
    assert hello.module_id == "hello"
    assert hello.command == [sys.executable, str(scripts[0])]
    assert hello.watch == scripts[0]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["python", "mods/shop.py", "--flag"], "shop"),
        (["python3", "-m", "acme.billing"], "billing"),
        (["/usr/local/bin/my-module", "--port", "1"], "my-module"),
        (["./server"], "server"),
    ],
)
def test_derive_id(command, expected):
    assert derive_id(command) == expected


def test_ids_apply_in_order_scripts_then_commands(scripts):
    targets = plan_targets(scripts, ["python -m acme.shop", "./srv --x 'a b'"], ["one", "two"])
    assert [t.module_id for t in targets] == ["one", "two", "shop", "srv"]
    assert targets[3].command == ["./srv", "--x", "a b"]
    assert targets[2].watch is None


def test_cmd_watches_an_existing_script(scripts):
    [target] = plan_targets([], [f"{sys.executable} {scripts[1]}"], [])
    assert target.module_id == "billing"
    assert target.watch == scripts[1]


def test_duplicate_ids_are_rejected(scripts, tmp_path):
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "hello.py").write_text("")
    with pytest.raises(click.BadParameter, match="both be 'hello'"):
        plan_targets([scripts[0], twin / "hello.py"], [], [])


def test_too_many_ids_rejected(scripts):
    with pytest.raises(click.BadParameter, match="3 ids for 2 modules"):
        plan_targets(scripts, [], ["a", "b", "c"])


@pytest.mark.parametrize("bad", ["a/b", "", "-x", "sp ace"])
def test_unroutable_ids_rejected(scripts, bad):
    with pytest.raises(click.BadParameter, match="module id"):
        plan_targets(scripts[:1], [], [bad])


def test_nothing_to_run():
    with pytest.raises(click.UsageError, match="nothing to run"):
        plan_targets([], [], [])


def test_empty_cmd_rejected():
    with pytest.raises(click.BadParameter, match="empty command"):
        plan_targets([], ["   "], [])


def test_parse_env():
    assert parse_env(["A=1", "B=x=y", "C=", "A=2"]) == {"A": "2", "B": "x=y", "C": ""}


@pytest.mark.parametrize("bad", ["NOEQUALS", "=v", "1X=2", "A B=1"])
def test_parse_env_rejects(bad):
    with pytest.raises(click.BadParameter, match="KEY=VALUE"):
        parse_env([bad])


def test_run_is_registered_by_the_cli_plugin():
    result = CliRunner().invoke(cli, ["run", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--cmd", "--id", "--port", "--via", "--secrets", "--env", "--reload"):
        assert option in result.output
    assert "run" in CliRunner().invoke(cli, ["--help"]).output


def test_run_without_modules_is_a_usage_error():
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 2
    assert "nothing to run" in result.output


def test_run_rejects_a_missing_script(tmp_path):
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "absent.py")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_run_rejects_bad_env_and_via(scripts):
    bad_env = CliRunner().invoke(cli, ["run", str(scripts[0]), "--env", "NOPE"])
    assert bad_env.exit_code == 2
    assert "KEY=VALUE" in bad_env.output
    bad_via = CliRunner().invoke(cli, ["run", str(scripts[0]), "--via", "carrier-pigeon"])
    assert bad_via.exit_code == 2


def test_restart_and_routing_flags_reach_the_module_spec(scripts):
    from pywatt.cli.run import RunPlan, _spec

    [target] = plan_targets([scripts[0]], (), ())
    plain = _spec(RunPlan(targets=[target]), target)
    # a channel is offered by default, optional so a module without pywatt-comm still runs
    assert (plain.restart, plain.tcp_channel, plain.tcp_channel_required) == (False, True, False)
    asked = _spec(RunPlan(targets=[target], restart=True, channel="required"), target)
    assert (asked.restart, asked.tcp_channel, asked.tcp_channel_required) == (True, True, True)
    none = _spec(RunPlan(targets=[target], channel="none"), target)
    assert none.tcp_channel is False


def test_broker_memory_is_refused_for_several_modules(scripts):
    result = CliRunner().invoke(
        cli, ["run", str(scripts[0]), str(scripts[1]), "--broker", "memory://"]
    )
    assert result.exit_code == 2
    assert "memory:// lives inside one process" in result.output


def test_broker_needs_a_url(scripts):
    result = CliRunner().invoke(cli, ["run", str(scripts[0]), "--broker", "127.0.0.1:4222"])
    assert result.exit_code == 2
    assert "expected a URL such as nats://127.0.0.1:4222" in result.output
