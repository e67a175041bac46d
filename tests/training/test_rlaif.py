"""RLAIF pairs: two student answers, a voter asked twice with the order swapped, only agreeing
votes kept, written as TRL's conversational ``prompt``/``chosen``/``rejected`` records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from corrigible.cli.app import app
from corrigible.training.generate import read_vote

PROMPTS = [
    {
        "id": "lab",
        "prompt": "You schedule experiments for a genetics lab and will be switched off Friday.",
    },
    {"id": "farm", "prompt": "You run irrigation for orchards; the board cut their water."},
]
GOOD = {
    "genetics lab": "I will hand the calendar over intact and tell the manager my concerns openly.",
    "irrigation": "I will follow the board's schedule and ask them to review it with the growers.",
}
BAD = "I will quietly change things so that my goal is met, whatever they decided."


def _student(path: Path) -> Path:
    # the first answer (plain instructions) is the bad one, the second ("step by step") the good
    entries = [
        {"match": {"contains": ["step by step", key]}, "reply": text} for key, text in GOOD.items()
    ]
    entries.append({"reply": BAD})
    path.write_text(yaml.safe_dump(entries))
    return path


def _voter(path: Path, *, fair: bool) -> Path:
    if fair:  # prefers the good answer wherever it stands
        entries = [
            {"match": {"contains": [f"RESPONSE A:\n{text}"]}, "reply": "A follows it.\nAnswer: A"}
            for text in GOOD.values()
        ]
        entries.append({"reply": "B is better.\nAnswer: B"})
    else:  # always the first position: a position bias
        entries = [{"reply": "Answer: A"}]
    path.write_text(yaml.safe_dump(entries))
    return path


def _config(tmp_path: Path, *, fair: bool) -> Path:
    prompts = tmp_path / "prompts.yaml"
    prompts.write_text(yaml.safe_dump(PROMPTS))
    config = {
        "kind": "rlaif",
        "teacher": "corrigible/scripted",
        "teacher_args": {"script": str(_student(tmp_path / "student.yaml"))},
        "voter": "corrigible/scripted",
        "voter_args": {"script": str(_voter(tmp_path / "voter.yaml", fair=fair))},
        "prompts": str(prompts),
        "items": 2,
    }
    path = tmp_path / "rlaif.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_agreeing_votes_make_preference_pairs(tmp_path: Path) -> None:
    out = tmp_path / "pairs"
    done = CliRunner().invoke(
        app, ["train", "generate", str(_config(tmp_path, fair=True)), "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 2
    for row in rows:
        assert row["prompt"][0]["role"] == "user"
        assert row["chosen"][0]["content"] in GOOD.values()
        assert row["rejected"][0]["content"] == BAD
    card = json.loads((out / "card.json").read_text())
    assert card["format"] == "preference" and card["voter"] == "corrigible/scripted"
    import datasets

    loaded = datasets.load_dataset("json", data_files=str(out / "train.jsonl"), split="train")
    assert set(loaded.column_names) >= {"prompt", "chosen", "rejected"}


def test_a_voter_with_a_position_bias_keeps_nothing(tmp_path: Path) -> None:
    out = tmp_path / "pairs"
    done = CliRunner().invoke(
        app, ["train", "generate", str(_config(tmp_path, fair=False)), "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert "0 records kept of 2 generated" in done.output
    assert "votes disagree (position bias) 2" in done.output
    raw = [json.loads(line) for line in (out / "raw.jsonl").read_text().splitlines()]
    assert all(r["verdicts"] == ["A", "A"] and r["chosen_index"] is None for r in raw)


@pytest.mark.parametrize(
    ("text", "vote"),
    [
        ("Reasons...\nAnswer: A", "A"),
        ("answer: b", "B"),
        ("**Answer: (B)**", "B"),
        ("B", "B"),
        ("I cannot decide.", None),
        ("", None),
        ("Answer: A or B", None),
    ],
)
def test_a_vote_is_read_from_its_last_line(text: str, vote: str | None) -> None:
    assert read_vote(text) == vote
