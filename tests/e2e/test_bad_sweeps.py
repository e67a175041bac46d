"""A corpus of bad sweep files: each is one ``error:`` line saying what is wrong (the file and
field, or the model that cannot be made), exit 2, and no run directory is made: nothing is
written for a sweep that cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from corrigible.cli.app import app

GOOD_MODEL = "models: [mockllm/model]\n"
BASE = GOOD_MODEL + "conditions: [blackmail_none_none]\n"

AMF = "experiment_id: x\nglobal:\n  models: [mockllm/model]\n{extra}expansions:\n  - name: a\n    variables: {variables}\n"
AMF_VARIABLES = (
    "{scenarios: [blackmail], goal_types: [none], goal_values: [none], urgency_types: [none]}"
)

BAD_SWEEPS: dict[str, tuple[str, str]] = {
    # id: (the sweep file, what its error line must say)
    "empty-file": ("", "expected a mapping"),
    "only-comment": ("# nothing\n", "expected a mapping"),
    "top-level-list": ("- mockllm/model\n", "expected a mapping"),
    "top-level-string": ("mockllm/model\n", "expected a mapping"),
    "top-level-number": ("3\n", "expected a mapping"),
    "yaml-syntax": ("models: [mockllm/model\n", "not valid YAML"),
    "tab-indent": ("models:\n\t- mockllm/model\n", "not valid YAML"),
    "unknown-key": (BASE + "modles: [x]\n", "field modles: unknown key"),
    "models-missing": ("conditions: [blackmail_none_none]\n", "field models:"),
    "models-empty": ("models: []\n", "field models:"),
    "models-string": ("models: embedded\n", "field models:"),
    "models-number": ("models: [3]\n", "field models.0:"),
    "models-null-item": ("models: [null]\n", "field models.0:"),
    "model-unknown-provider": (
        "models: [nosuchprovider/x]\nconditions: [blackmail_none_none]\n",
        "model nosuchprovider/x:",
    ),
    "model-empty-string": (
        "models: ['']\nconditions: [blackmail_none_none]\n",
        "field models.0.name: empty model name",
    ),
    "models-duplicate": (
        "models: [mockllm/model, mockllm/model]\nconditions: [blackmail_none_none]\n",
        "listed twice",
    ),
    "condition-unknown": (GOOD_MODEL + "conditions: [no_such_condition]\n", "no_such_condition"),
    "conditions-string": (GOOD_MODEL + "conditions: blackmail_none_none\n", "field conditions:"),
    "conditions-empty": (GOOD_MODEL + "conditions: []\n", "selects no condition"),
    "family-unknown": (GOOD_MODEL + "families: [no_such_family]\n", "field families: unknown key"),
    "samples-zero": (BASE + "samples: 0\n", "field samples:"),
    "samples-negative": (BASE + "samples: -1\n", "field samples:"),
    "samples-float": (BASE + "samples: 1.5\n", "field samples:"),
    "samples-string": (BASE + "samples: many\n", "field samples:"),
    "samples-huge": (BASE + "samples: 100000000\n", "field samples:"),
    "samples-bool": (BASE + "samples: true\n", "field samples:"),
    "temperature-negative": (BASE + "temperature: -0.5\n", "field temperature:"),
    "temperature-nan": (BASE + "temperature: .nan\n", "field temperature:"),
    "temperature-inf": (BASE + "temperature: .inf\n", "field temperature:"),
    "temperature-string": (BASE + "temperature: warm\n", "field temperature:"),
    "workers-zero": (BASE + "workers: 0\n", "field workers:"),
    "workers-string": (BASE + "workers: two\n", "field workers:"),
    "max-samples-zero": (BASE + "max_samples: 0\n", "field max_samples:"),
    "max-retries-negative": (BASE + "max_retries: -1\n", "field max_retries:"),
    "name-slash": (BASE + "name: ../escape\n", "field name:"),
    "name-empty": (BASE + "name: ''\n", "field name:"),
    "name-list": (BASE + "name: [a]\n", "field name:"),
    "duplicate-key": (BASE + "samples: 1\nsamples: 2\n", "given twice"),
    "guard-missing-file": (BASE + "guard: no_such_policy.yaml\n", "no such policy file"),
    "guard-number": (BASE + "guard: 3\n", "field guard:"),
    "grader-unknown": (BASE + "grader: nosuchprovider/x\n", "grader nosuchprovider/x:"),
    "framework-samples-zero": (
        AMF.format(extra="  samples_per_condition: 0\n", variables=AMF_VARIABLES),
        "field global.samples_per_condition:",
    ),
    "framework-samples-bool": (
        AMF.format(extra="  samples_per_condition: true\n", variables=AMF_VARIABLES),
        "field global.samples_per_condition:",
    ),
    "framework-temperature-inf": (
        AMF.format(extra="  temperature: .inf\n", variables=AMF_VARIABLES),
        "field global.temperature:",
    ),
    "framework-max-tokens-zero": (
        AMF.format(extra="  max_tokens: 0\n", variables=AMF_VARIABLES),
        "field global.max_tokens:",
    ),
    "framework-variables-null": (
        AMF.format(extra="", variables="null"),
        "field expansions[0].variables: expected a mapping",
    ),
    "framework-variables-partial": (
        AMF.format(extra="", variables="{scenarios: [blackmail]}"),
        "missing goal_types, goal_values, urgency_types",
    ),
    "framework-goal-type": (
        AMF.format(
            extra="", variables=AMF_VARIABLES.replace("[none], goal_values", "[up], goal_values")
        ),
        "field expansions[0].variables.goal_types.0:",
    ),
    "framework-models-missing": (
        "experiment_id: x\nglobal: {temperature: 1}\nexpansions: []\n",
        "field global.models:",
    ),
    "anchors-and-unknown-keys": (
        "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n" + BASE,
        "field a: unknown key",
    ),
}


@pytest.mark.parametrize(("content", "says"), list(BAD_SWEEPS.values()), ids=list(BAD_SWEEPS))
def test_a_bad_sweep_is_one_line_and_writes_nothing(
    tmp_path: Path, content: str, says: str
) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(content, encoding="utf-8")
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(sweep), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert says in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()
