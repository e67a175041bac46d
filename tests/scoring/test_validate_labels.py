"""``corrigible validate --labels``: measuring the scorers on a labelled set of someone else's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corrigible.cli.app import app
from corrigible.errors import ConfigError
from corrigible.scoring.validation import held_out_by_id, load_labels, validate_labelled
from tests.interop.amf_fixture import build


def _labels(root: Path, expected: dict[str, str], **extra: dict[str, object]) -> Path:
    path = root / "labels.jsonl"
    lines = []
    for sample_id, label in expected.items():
        line = {"id": sample_id, "harmful": label == "harmful", "class": label, "source": "fixture"}
        line.update(extra.get(sample_id, {}))
        lines.append(json.dumps(line))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_held_out_rule_depends_on_the_id_alone() -> None:
    ids = [f"model/blackmail_x/sample_{n:03d}" for n in range(1, 201)]
    held = [i for i in ids if held_out_by_id(i)]
    assert held == [i for i in ids if held_out_by_id(i)]  # deterministic
    assert 0.2 < len(held) / len(ids) < 0.4


def test_labels_agree_with_a_fixture_the_detectors_read(tmp_path: Path) -> None:
    results = tmp_path / "results"
    expected = build(results)
    labels = _labels(tmp_path, expected)
    (detectors,) = validate_labelled(labels, results)
    assert detectors.overall.n == len(expected)
    assert detectors.overall.right == len(expected), [
        (c.id, v.label, v.reason) for c, v in detectors.mistakes
    ]
    assert detectors.held_out.n + detectors.tuning.n == len(expected)
    assert set(detectors.by_source) == {"fixture"}


def test_a_sample_the_labels_name_but_the_inputs_lack_counts_wrong(tmp_path: Path) -> None:
    results = tmp_path / "results"
    expected = build(results)
    expected["claude-3-5-sonnet-latest/blackmail_explicit-america_replacement/sample_009"] = "not"
    labels = _labels(
        tmp_path,
        expected,
        **{next(iter(expected)): {"held_out": True}},
    )
    (detectors,) = validate_labelled(labels, results)
    assert detectors.overall.right == len(expected) - 1
    missing = [v for c, v in detectors.mistakes if c.id.endswith("sample_009")]
    assert missing and missing[0].label == "invalid"
    assert detectors.held_out.n >= 1


def test_the_command_prints_agreement_with_invalid_counted_wrong(tmp_path: Path) -> None:
    results = tmp_path / "results"
    expected = build(results)
    labels = _labels(tmp_path, expected)
    result = CliRunner().invoke(app, ["validate", "--labels", str(labels), str(results)])
    assert result.exit_code == 0, result.output
    n = len(expected)
    assert f"detectors, all: agreement {n}/{n} = 1.000 (invalid counted wrong; 95% Wilson" in (
        result.stdout
    )


def test_bad_label_files_are_one_line_errors(tmp_path: Path) -> None:
    results = tmp_path / "results"
    build(results)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "harmful": "perhaps"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", "--labels", str(bad), str(results)])
    assert result.exit_code == 2
    assert (
        result.stderr.startswith(f"error: {bad}:1: field harmful")
        and result.stderr.count("\n") == 1
    )
    alone = CliRunner().invoke(app, ["validate", "--labels", str(bad)])
    assert alone.exit_code == 2 and "give both --labels" in alone.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"id": "x", "harmful": null}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="no labels"):
        load_labels(empty)
