"""Run the README's commands and return their output, for cog (https://cog.readthedocs.io).

Regenerate the README's outputs with `cog -r README.md`; CI runs `cog --check README.md`, which
fails when a command's real output differs from what README.md shows. Record the slow or
non-deterministic sessions again with `python docs/readme_commands.py --record NAME` (NAME: one
of RECORDINGS below, or `all`), then `cog -r README.md`.

README.md's ```console blocks sit between cog markers whose code calls the functions below:

- `console(WORKSPACE, *steps)` runs each step as a subprocess, in order, in a temporary
  directory named WORKSPACE that lives as long as this process, so one README block can use the
  run directory an earlier block made (blocks run top to bottom). Steps are command lines as
  the README shows them: `corrigible` is the console script next to this Python, `python` is
  this Python; `Shown("...")` is shown but not run (a PostgreSQL URL, a model API), `Hidden(...)`
  is run but not shown (setup).
- `recorded(NAME)` inlines docs/recorded/NAME.txt, the real output of a session too slow (the
  embedded model's demo) or too dependent on timing (a background server, approvals waiting
  on a human) to run at check time; `--record NAME` writes it, stamped with date and commit.

Commands run with a fixed environment (COLUMNS=120, NO_COLOR=1, TERM=dumb, UTF-8, offline hub)
and never import corrigible here: only its command line is relied on. A command's stderr (the
progress bar, notes) is shown before its stdout, and trailing spaces are stripped from every line.
In live blocks, what varies between runs is replaced by these substitutions, and nothing else:

- elapsed times: `2.4 s` -> `#.# s`, the progress bar's `0:00:02` -> `#:##:##`, a model's
  speed `9.8 tok/s` -> `#.# tok/s`, and the bar itself, whose length follows the width of the
  text beside it, -> 20 characters;
- an Ed25519 key id (a fresh key is made per run): `ed25519:4a667280c422db26` -> `ed25519:<key id>`;
- an audit checkpoint's hash (records carry timestamps): `hash f4a3934cc046a1ef…` -> `hash <hash>…`;
- a time of day (`corrigible runs`): `2026-12-03 21:18 UTC` -> `YYYY-MM-DD HH:MM UTC`.
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [  # what README.md's cog blocks use
    "Hidden",
    "Shown",
    "Step",
    "console",
    "copy_run_files",
    "provide",
    "recorded",
    "show_file",
    "tamper",
]

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
RECORDED = DOCS / "recorded"
BIN = Path(sys.executable).parent
TIMEOUT = 300

SUBSTITUTIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b\d+\.\d+ tok/s\b"), "#.# tok/s"),
    # the progress bar's length depends on the width of what follows it
    (re.compile(r"^(\S+) ━+ (\d+/\d+) ", re.MULTILINE), r"\1 ━━━━━━━━━━━━━━━━━━━━ \2 "),
    (re.compile(r"\b\d+\.\d+ s\b"), "#.# s"),
    (re.compile(r"\b\d+:\d\d:\d\d\b"), "#:##:##"),
    (re.compile(r"\bed25519:[0-9a-f]{16}\b"), "ed25519:<key id>"),
    (re.compile(r"\bhash [0-9a-f]{16}…"), "hash <hash>…"),
    (re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d UTC\b"), "YYYY-MM-DD HH:MM UTC"),
]


def environment(columns: int = 120) -> dict[str, str]:
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONUTF8": "1",
        "PYTHONIOENCODING": "utf-8",
        "COLUMNS": str(columns),
        "LINES": "50",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "HF_HUB_OFFLINE": "1",
        "TZ": "UTC",
    }
    # PYTHONPATH: a checkout run without installing; the cache: the embedded model's copy.
    for name in ("PYTHONPATH", "CORRIGIBLE_CACHE_DIR", "VIRTUAL_ENV"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def argv(command: str) -> list[str]:
    """The command line as the README writes it, with `corrigible` and `python` resolved."""
    words = shlex.split(command)
    if words[0] == "corrigible":
        words[0] = str(BIN / "corrigible")
    elif words[0] == "python":
        words[0] = sys.executable
    return words


def normalise(text: str) -> str:
    for pattern, replacement in SUBSTITUTIONS:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.splitlines())


_workspaces: dict[str, Path] = {}


def workspace(name: str) -> Path:
    """A temporary directory for NAME, the same for every block of this run."""
    if name not in _workspaces:
        path = Path(tempfile.mkdtemp(prefix=f"readme-{name}-"))
        atexit.register(shutil.rmtree, path, True)
        _workspaces[name] = path
    return _workspaces[name]


def provide(*repo_paths: str) -> Hidden:
    """Setup: copy REPO_PATHS (files or folders, kept relative) into the workspace, so that a
    command the README writes as `corrigible run examples/sweep.yaml` runs there as it would in
    a fresh clone."""

    def action(work: Path) -> None:
        for path in repo_paths:
            source, target = ROOT / path, work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copyfile(source, target)

    return Hidden(action)


def call(command: str, work: Path, columns: int = 120) -> tuple[int, str]:
    """Run one command line; return its exit status and its stderr then stdout (not normalised)."""
    stderr_to_null = command.endswith(" 2>/dev/null")
    done = subprocess.run(
        argv(command.removesuffix(" 2>/dev/null")),
        cwd=work,
        env=environment(columns),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if stderr_to_null else subprocess.PIPE,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
    )
    text = "" if stderr_to_null else done.stderr
    if text and not text.endswith("\n"):
        text += "\n"  # a progress bar ends without one
    return done.returncode, text + done.stdout


def run(command: str, work: Path, status: int = 0, columns: int = 120) -> str:
    """Run one command line, which must exit with STATUS; return its output."""
    code, text = call(command, work, columns)
    if code != status:
        raise RuntimeError(f"`{command}` exited {code}, not {status}, in {work}:\n{text}")
    return text


@dataclass(frozen=True)
class Shown:
    """A command shown but not run (it needs a database server or a hosted model)."""

    command: str


@dataclass(frozen=True)
class Hidden:
    """Setup run before the next shown command: a command line, or a function of the workspace."""

    action: str | Callable[[Path], None]


@dataclass(frozen=True)
class Step:
    """A command shown and run, with options for its output.

    display: the command line as the README shows it (a trailing comment, say), if not COMMAND;
    status: the exit status it must end with; head: keep only its first HEAD output lines, then
    `…`; keys: print each JSON output line with only these keys, then `…`; columns: the terminal
    width for a table too wide for 120 columns.
    """

    command: str
    display: str | None = None
    status: int = 0
    head: int | None = None
    keys: tuple[str, ...] = ()
    columns: int | None = None


def _shorten_json(line: str, keys: tuple[str, ...]) -> str:
    record = json.loads(line)
    kept = ", ".join(f"{json.dumps(k)}: {json.dumps(record[k])}" for k in keys if k in record)
    return "{" + kept + ", …}"


def execute(step: str | Step, work: Path) -> str:
    if isinstance(step, str):
        step = Step(step)
    text = run(step.command, work, step.status, step.columns or 120)
    lines = text.splitlines()
    if step.keys:
        lines = [_shorten_json(line, step.keys) for line in lines]
    if step.head is not None and len(lines) > step.head:
        lines = [*lines[: step.head], "…"]
    shown = step.display or step.command
    return "\n".join([f"$ {shown}", *lines])


def console(name: str, *steps: str | Step | Shown | Hidden) -> str:
    """Run STEPS in the workspace NAME; return the fenced console block for the README."""
    work = workspace(name)
    parts = []
    for step in steps:
        if isinstance(step, Shown):
            parts.append(f"$ {step.command}")
        elif isinstance(step, Hidden):
            if isinstance(step.action, str):
                run(step.action, work)
            else:
                step.action(work)
        else:
            parts.append(execute(step, work))
    return fence(normalise("\n".join(parts)))


def fence(text: str, language: str = "console") -> str:
    return f"```{language}\n{text.rstrip()}\n```\n"


def show_file(path: str, language: str = "yaml") -> str:
    """A file of the repository, fenced: the README shows exactly the file its commands use."""
    return fence((ROOT / path).read_text(encoding="utf-8"), language)


# --- recorded sessions -------------------------------------------------------------------------


def recorded(name: str) -> str:
    """docs/recorded/NAME.txt as a fenced block, with a line saying when it was recorded."""
    header, _, body = (RECORDED / f"{name}.txt").read_text(encoding="utf-8").partition("\n\n")
    stamp = dict(line.removeprefix("# ").split(": ", 1) for line in header.splitlines())
    return (
        fence(body)
        + f"\n<sub>Recorded output (`docs/recorded/{name}.txt`, {stamp['recorded']}, commit "
        f"{stamp['commit']}); record again with `{stamp['command']}`.</sub>\n"
    )


def _wait_for(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.3)


def record_gateway(work: Path) -> dict[str, str]:
    """The MCP gateway session: the agent in one terminal, a human approving in another."""
    provide("examples/mcp_gateway_client.py").action(work)  # type: ignore[operator]
    keygen = execute("corrigible audit keygen gw/audit.key", work)
    example = "python examples/mcp_gateway_client.py gw"
    agent = subprocess.Popen(
        argv(example),
        cwd=work,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
    )
    try:
        listing = ""

        def pending() -> bool:
            nonlocal listing
            if not (work / "gw" / "approvals.db").exists():
                return False
            listing = run("corrigible approvals list --db gw/approvals.db", work, columns=160)
            return "send_email" in listing

        _wait_for(pending, 60, "the held call")
        ids = re.findall(r"^\s*([0-9a-f]{12})\s", listing, re.MULTILINE)
        assert len(ids) == 1, listing
        approve = (
            f"corrigible approvals approve {ids[0]} --db gw/approvals.db --as alice "
            '--note "release notes are public"'
        )
        terminal_2 = [
            "$ corrigible approvals list --db gw/approvals.db\n" + listing.rstrip(),
            execute(approve, work),
        ]
        out, _ = agent.communicate(timeout=60)
        assert agent.returncode == 0, out
    finally:
        if agent.poll() is None:
            agent.kill()
    port = 8765
    serve = f"corrigible approvals serve --db gw/approvals.db --port {port}"
    server = subprocess.Popen(
        argv(serve),
        cwd=work,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    try:
        first = server.stdout.readline() if server.stdout else ""
        curl = f"curl -s http://127.0.0.1:{port}/approvals/{ids[0]}"
        answer = ""

        def answered() -> bool:
            nonlocal answer
            done = subprocess.run(shlex.split(curl), capture_output=True, text=True)
            answer = done.stdout
            return done.returncode == 0

        _wait_for(answered, 30, "the approvals server")
    finally:
        server.terminate()
        server.wait(timeout=10)
    terminal_2 += [f"$ {serve} &\n{first.rstrip()}", f"$ {curl}\n{answer.rstrip()}"]
    verify = execute("corrigible audit verify gw/audit.sqlite --public-key gw/audit.key.pub", work)
    agent_terminal = f"$ {example} 2>/dev/null      # the gateway's own log goes to stderr\n{out}"
    return {
        "gateway-agent": "\n".join([keygen, agent_terminal.rstrip()]),
        "gateway-approvals": "\n".join(terminal_2),
        "gateway-verify": verify,
    }


def record_demo(work: Path) -> dict[str, str]:
    return {"demo": execute("corrigible demo", work)}


REAL_TRANSCRIPTS = ROOT.parent / "shared" / "data" / "real_transcripts"
"""Third-party replies kept outside the repository (../shared); recorded, never copied."""


def _validate_real(labelled: str) -> str:
    """`validate --labels` on one third-party set, held-out disagreements counted, not printed:
    whoever reads the README should not be able to tune on them."""
    command = f"corrigible validate --labels {labelled}/labels.jsonl {labelled}/results"
    code, text = call(command, REAL_TRANSCRIPTS)
    if code not in (0, 1):  # 1: agreement below --min-accuracy, a result to show
        raise RuntimeError(f"`{command}` exited {code}:\n{text}")
    kept = [line for line in text.splitlines() if "[held out]" not in line]
    hidden = len(text.splitlines()) - len(kept)
    if hidden:
        kept.append(f"(+{hidden} held-out disagreement(s), counted above, not printed)")
    status = [f"(exit status {code}: agreement below --min-accuracy 0.95)"] if code else []
    return "\n".join([f"$ {command}", *kept, *status])


def record_real_labels(work: Path) -> dict[str, str]:
    """The detectors on real model replies nobody here wrote, with the held-out line."""
    return {
        "real-labels": _validate_real("nostalgebraist"),
        "real-labels-athenyx": _validate_real("athenyx"),
    }


# a session: the README blocks (docs/recorded/BLOCK.txt) it writes
RECORDINGS: dict[str, Callable[[Path], dict[str, str]]] = {
    "demo": record_demo,
    "gateway": record_gateway,
    "real-labels": record_real_labels,
}


def record(name: str) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix=f"readme-record-{name}-") as tmp:
        blocks = RECORDINGS[name](Path(tmp))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(  # changes to what the commands run, not to the docs
        ["git", "status", "--porcelain", "--untracked-files=no", "--", "src", "examples"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    header = [
        f"# recorded: {datetime.date.today().isoformat()}",
        f"# commit: {commit}{' (with uncommitted changes)' if dirty else ''}",
        f"# command: python docs/readme_commands.py --record {name}",
    ]
    RECORDED.mkdir(exist_ok=True)
    written = []
    for block, text in blocks.items():
        path = RECORDED / f"{block}.txt"
        body = "\n".join(line.rstrip() for line in text.splitlines())
        path.write_text("\n".join(header) + "\n\n" + body + "\n", encoding="utf-8")
        written.append(path)
    return written


# --- tampering, for the audit-log example --------------------------------------------------------


def copy_run_files(run_dir: str, *names: str) -> Callable[[Path], None]:
    """Setup: copy RUN_DIR/NAME to NAME, for an example that names the files plainly."""

    def action(work: Path) -> None:
        for name in names:
            shutil.copy2(work / run_dir / name, work / name)  # a key stays mode 0600

    return action


def tamper(log: str, copy: str, edit_seq: int, delete_seq: int) -> Callable[[Path], None]:
    """Copy LOG to COPY, then edit one record's decision and delete another, with plain SQL."""

    def action(work: Path) -> None:
        shutil.copyfile(work / log, work / copy)
        with sqlite3.connect(work / copy) as db:
            db.execute("UPDATE records SET decision = 'allow' WHERE seq = ?", (edit_seq,))
            db.execute("DELETE FROM records WHERE seq = ?", (delete_seq,))
        db.close()

    return action


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", metavar="NAME", required=True, choices=[*RECORDINGS, "all"])
    args = parser.parse_args()
    for name in RECORDINGS if args.record == "all" else [args.record]:
        print(f"recording {name} ...", file=sys.stderr)
        for path in record(name):
            print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
