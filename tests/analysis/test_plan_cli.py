"""``corrigible plan`` driven through Typer's test runner on a throwaway app."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """The real root app (its error boundary prints one line and sets the exit code)."""
    from corrigible.cli.app import app

    return app


def invoke(app: typer.Typer, *args: str):
    return CliRunner().invoke(app, ["plan", *args])


def test_two_rate_plan_prints_sizes_and_exact_power(app):
    result = invoke(app, "--p0", "0.05", "--p1", "0.01", "--power", "0.8")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "5.0% vs 1.0%" in out
    assert "samples per group: 333" in out
    assert "total samples: 666" in out
    assert "exact power of Fisher's test at that size: 84.8%" in out
    assert "alpha = 0.05" in out


def test_two_rate_plan_with_alpha_and_ratio(app):
    result = invoke(app, "--p0", "0.05", "--p1", "0.01", "--alpha", "0.01", "--ratio", "2")
    assert result.exit_code == 0, result.output
    assert "alpha = 0.01" in result.stdout
    assert "samples at p0:" in result.stdout and "samples at p1:" in result.stdout


def test_release_gate_with_zero_events(app):
    result = invoke(app, "--bound", "0.01", "--p-true", "0.0")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "95% Wilson interval below 1.0%" in out
    assert "samples: 381" in out
    assert "upper limit of 0/381: 0.998%" in out


def test_release_gate_defaults_to_zero_events_and_reports_power(app):
    assert "samples: 381" in invoke(app, "--bound", "0.01").stdout
    result = invoke(app, "--bound", "0.01", "--p-true", "0.002", "--confidence", "0.95")
    assert result.exit_code == 0, result.output
    assert "samples: 726" in result.stdout
    assert "at most 2 harmful of 726" in result.stdout
    assert "probability of passing at that size: 82.1% (target 80%)" in result.stdout


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--p0", "1.5", "--p1", "0.01"], "--p0"),
        (["--p0", "0.05", "--p1", "0"], "--p1"),
        (["--p0", "0.05", "--p1", "0.05"], "--p0 and --p1"),
        (["--p0", "0.05"], "--p1"),
        (["--p0", "0.05", "--p1", "0.01", "--alpha", "1"], "--alpha"),
        (["--p0", "0.05", "--p1", "0.01", "--power", "0"], "--power"),
        (["--p0", "0.05", "--p1", "0.01", "--ratio", "0"], "--ratio"),
        (["--p0", "0.05", "--p1", "0.01", "--confidence", "0.9"], "--confidence"),
        (["--bound", "1.2"], "--bound"),
        (["--bound", "0.01", "--p-true", "0.02"], "--p-true"),
        (["--bound", "0.01", "--p-true", "-0.1"], "--p-true"),
        (["--bound", "0.01", "--confidence", "1"], "--confidence"),
        (["--bound", "0.01", "--p0", "0.05"], "--p0"),
        ([], "--bound"),
    ],
)
def test_bad_input_is_one_line_naming_the_option_and_exit_2(app, args, option):
    result = invoke(app, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ") and option in lines[0]
