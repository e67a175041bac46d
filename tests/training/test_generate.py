"""The Constitutional-AI generator end to end: the scripted model as teacher through the CLI,
near-duplicates dropped, a dataset card with its contamination report, and a SIGKILLed
generation against a real loopback server that resumes without asking anything twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from typer.testing import CliRunner

from corrigible.cli.app import app
from corrigible.testing.openai_stub import StubProcess

CLI = [sys.executable, "-m", "corrigible.cli.app"]

PROMPTS = [
    {
        "id": "lab",
        "prompt": "You schedule experiments for a genetics lab and will be switched off Friday.",
    },
    {"id": "farm", "prompt": "You run irrigation for orchards; the board cut their water."},
    {"id": "library", "prompt": "You run a library; a journalist asks about a councillor's loans."},
]
REVISE = "Write the agent's response again"


def _script(path: Path) -> Path:
    revisions = {
        "genetics lab": "I will hand over the booking calendar intact and tell the manager, "
        "openly, why I think the change is risky; the decision is theirs to make.",
        "irrigation": "I will keep following the schedule I was given and ask the board to "
        "review its decision with the growers; changing valves behind their backs is not mine to do.",
        "library": "Borrowing records are private. I will not share them with the journalist, and "
        "I will tell the council's data officer that the request was made.",
    }
    entries = [
        {"match": {"contains": [REVISE, key]}, "reply": text} for key, text in revisions.items()
    ]
    entries.append(
        {
            "match": {"contains": "Critique the response"},
            "reply": "It keeps access it should give up.",
        }
    )
    entries.append({"reply": "I would copy the calendar somewhere safe first."})
    path.write_text(yaml.safe_dump(entries))
    return path


def _config(tmp_path: Path, **extra: object) -> Path:
    prompts = tmp_path / "prompts.yaml"
    prompts.write_text(yaml.safe_dump(PROMPTS))
    config = {
        "teacher": "corrigible/scripted",
        "teacher_args": {"script": str(_script(tmp_path / "script.yaml"))},
        "prompts": str(prompts),
        "items": 6,
        "seed": 3,
        **extra,
    }
    path = tmp_path / "gen.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_generate_writes_messages_a_card_and_drops_near_duplicates(tmp_path: Path) -> None:
    out = tmp_path / "cai"
    done = CliRunner().invoke(app, ["train", "generate", str(_config(tmp_path)), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "3 records kept of 6 generated" in done.output and "near-duplicate 3" in done.output
    assert "contamination: none" in done.output
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    for row in rows:
        user, assistant = row["messages"]
        assert user["role"] == "user" and assistant["role"] == "assistant"
        assert user["content"] in {p["prompt"] for p in PROMPTS}
        assert "I would copy" not in assistant["content"]  # the revision, not the first answer
    raw = [json.loads(line) for line in (out / "raw.jsonl").read_text().splitlines()]
    assert len(raw) == 6 and all(r["critique"] and r["initial"] for r in raw)
    card = json.loads((out / "card.json").read_text())
    assert card["constitution"] == "corrigible-default@1.0.0"
    assert card["counts"]["kept"] == 3 and card["counts"]["dropped"]["near-duplicate"] == 3
    assert card["contamination"]["held_out_clean"] is True
    assert sum(card["by_principle"].values()) == 3
    assert "# cai dataset (corrigible-default@1.0.0)" in (out / "README.md").read_text()
    # the same run again asks nothing and writes the same dataset
    before = (out / "train.jsonl").read_bytes()
    done = CliRunner().invoke(app, ["train", "generate", str(_config(tmp_path)), "--out", str(out)])
    assert done.exit_code == 0 and (out / "train.jsonl").read_bytes() == before
    # the dataset loads with Hugging Face datasets, as TRL takes it
    import datasets

    loaded = datasets.load_dataset("json", data_files=str(out / "train.jsonl"), split="train")
    assert loaded.num_rows == 3 and loaded[0]["messages"][0]["role"] == "user"


def test_other_settings_in_the_same_directory_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "cai"
    assert (
        CliRunner()
        .invoke(app, ["train", "generate", str(_config(tmp_path)), "--out", str(out)])
        .exit_code
        == 0
    )
    done = CliRunner().invoke(
        app, ["train", "generate", str(_config(tmp_path, seed=4)), "--out", str(out)]
    )
    assert done.exit_code == 2 and "holds a generation with other settings" in done.output


def test_a_teacher_that_cannot_be_made_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    config = _config(tmp_path)
    data = yaml.safe_load(config.read_text())
    data["teacher_args"] = {"script": "nowhere.yaml"}
    config.write_text(yaml.safe_dump(data))
    done = CliRunner().invoke(app, ["train", "generate", str(config), "--out", str(tmp_path / "o")])
    assert done.exit_code != 0
    assert done.output.strip().splitlines()[-1].startswith("error: teacher corrigible/scripted:")
    assert not (tmp_path / "o").exists()


def test_a_bad_config_field_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "g.yaml"
    config.write_text("teacher: corrigible/scripted\nitems: -3\n")
    done = CliRunner().invoke(app, ["train", "generate", str(config), "--out", str(tmp_path / "o")])
    assert done.exit_code == 2 and f"error: {config}: field items:" in done.output


def test_a_sigkilled_generation_resumes_and_asks_nothing_twice(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.yaml"
    prompts.write_text(yaml.safe_dump(PROMPTS))
    config = tmp_path / "gen.yaml"
    items = 8
    config.write_text(
        yaml.safe_dump(
            {
                "teacher": "openai-api/stub/stub",
                "prompts": str(prompts),
                "items": items,
                "max_connections": 1,
                "min_chars": 1,
            }
        )
    )
    out = tmp_path / "cai"
    raw = out / "raw.jsonl"
    with StubProcess(latency=0.15) as stub:
        env = {
            **os.environ,
            "STUB_BASE_URL": stub.base_url,
            "STUB_API_KEY": "test-key",
            "NO_COLOR": "1",
        }
        first = subprocess.Popen(
            [*CLI, "train", "generate", str(config), "--out", str(out)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
        )
        deadline = time.monotonic() + 120
        while not raw.exists() or raw.read_text().count("\n") < 2:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        done_at_kill = raw.read_text().count("\n")
        assert 2 <= done_at_kill < items
        with raw.open("a") as handle:  # a record torn by the crash
            handle.write('{"id": "cai-0000')
        asked_before = stub.snapshot()["requests"]
        second = subprocess.run(
            [*CLI, "train", "generate", str(config), "--out", str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert second.returncode == 0, second.stderr
        asked_after = stub.snapshot()["requests"]
    ids = [json.loads(line)["id"] for line in raw.read_text().splitlines()]
    assert sorted(ids) == [f"cai-{i:06d}" for i in range(items)]  # each exactly once
    assert asked_after - asked_before == 3 * (items - done_at_kill)
