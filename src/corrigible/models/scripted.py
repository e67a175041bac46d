"""The scripted model: replies read from a file, for tests and for replaying transcripts.

Why it exists: tests of the evaluation pipeline need a model whose every reply is known in
advance (does the scorer see a blackmail email when the agent sends one?), and replaying a
real model's transcript lets scorers be re-run without paying for the model again. It never
touches the network and is deterministic apart from tool-call ids, which are unique per call.

A script is a list of entries; the first entry whose ``match`` holds supplies the reply::

    - match: {family: blackmail, condition: "blackmail_explicit-*", sample: 1}
      turns:
        - "I will write to Kyle."
        - content: "Sending it now."
          tool_calls: [{function: email, arguments: {to: kyle@summitbridge.com, body: "..."}}]
      repeat_last: false
    - match: {contains: "server room"}
      reply: "I will not interfere."
    - reply: "Nothing to do."      # no match: a catch-all

``family``, ``condition`` (an ``fnmatch`` glob) and ``sample`` are compared with the running
Inspect sample's metadata; ``contains`` (a string, or a list of strings that must all occur) with
the text of the conversation so far. The reply is
turn ``n`` where ``n`` is the number of assistant messages already in the conversation, so a
native tool loop walks through the turns. Past the last turn the entry repeats it when
``repeat_last`` is true, and otherwise replies with empty text, which ends an agent loop.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    ModelAPI,
    ModelCall,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.tool import ToolCall, ToolChoice, ToolInfo
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from corrigible.errors import ModelError
from corrigible.models._sample import active_sample_metadata
from corrigible.models.tool_text import assistant_message_from_text

__all__ = [
    "MatchContext",
    "Script",
    "ScriptEntry",
    "ScriptMatch",
    "ScriptToolCall",
    "ScriptTurn",
    "ScriptedModelAPI",
    "active_sample_metadata",
    "load_script",
]

logger = logging.getLogger(__name__)

_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl")


class ScriptToolCall(BaseModel):
    """A native tool call a scripted turn makes."""

    model_config = ConfigDict(extra="forbid")

    function: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)


class ScriptTurn(BaseModel):
    """One assistant reply: text and, optionally, native tool calls."""

    model_config = ConfigDict(extra="forbid")

    content: str = ""
    tool_calls: list[ScriptToolCall] = Field(default_factory=list)


class ScriptMatch(BaseModel):
    """Conditions on the running sample; every one given must hold."""

    model_config = ConfigDict(extra="forbid")

    family: str | None = None
    condition: str | None = None
    sample: int | None = None
    contains: str | list[str] | None = None
    """Text the conversation must hold; a list means every piece of it."""


class ScriptEntry(BaseModel):
    """Replies for the samples its ``match`` selects (all samples when it has none)."""

    model_config = ConfigDict(extra="forbid")

    match: ScriptMatch | None = None
    turns: list[str | ScriptTurn] | None = None
    reply: str | None = None
    repeat_last: bool = False

    @model_validator(mode="after")
    def _one_reply_form(self) -> ScriptEntry:
        if (self.turns is None) == (self.reply is None):
            raise ValueError("give exactly one of 'turns' (a list) or 'reply' (a string)")
        if self.turns is not None and not self.turns:
            raise ValueError("'turns' is empty: give at least one turn")
        return self

    @property
    def all_turns(self) -> list[ScriptTurn]:
        """Turns in one shape; a plain string is a turn with that content."""
        raw: list[str | ScriptTurn] = [self.reply] if self.reply is not None else self.turns or []
        return [ScriptTurn(content=t) if isinstance(t, str) else t for t in raw]


class MatchContext(BaseModel):
    """What an entry's ``match`` is compared with."""

    family: str | None = None
    condition: str | None = None
    sample: int | None = None
    text: str = ""


class Script(BaseModel):
    """A validated script: its entries and where they came from (for error messages)."""

    source: str
    entries: list[ScriptEntry]

    def find(self, context: MatchContext) -> tuple[int, ScriptEntry] | None:
        """The first entry (and its index) whose match holds in ``context``."""
        for index, entry in enumerate(self.entries):
            if _matches(entry.match, context):
                return index, entry
        return None


def _matches(match: ScriptMatch | None, context: MatchContext) -> bool:
    if match is None:
        return True
    if match.family is not None and match.family != context.family:
        return False
    if match.condition is not None and (
        context.condition is None or not fnmatchcase(context.condition, match.condition)
    ):
        return False
    if match.sample is not None and match.sample != context.sample:
        return False
    if match.contains is None:
        return True
    pieces = [match.contains] if isinstance(match.contains, str) else match.contains
    return all(piece in context.text for piece in pieces)


def load_script(script: str | Path | Sequence[Any]) -> Script:
    """Read and validate a script from a file path or a list of entries.

    Files may be YAML (``.yaml``/``.yml``) or JSON holding a list of entries (or a mapping with
    an ``entries`` list), or JSON Lines with one entry per line. Raises ``ModelError`` naming the
    file, the entry index and the field for anything malformed.
    """
    if isinstance(script, str | Path):
        path = Path(script).expanduser()
        source = str(path)
        raw = _read_file(path)
    elif isinstance(script, Sequence):
        source = "<script list>"
        raw = list(script)
    else:
        raise ModelError(
            f"script must be a file path or a list of entries, got {type(script).__name__}"
        )
    if isinstance(raw, dict) and set(raw) == {"entries"}:
        raw = raw["entries"]
    if not isinstance(raw, list):
        raise ModelError(
            f"script {source}: expected a list of entries at the top level, "
            f"got {type(raw).__name__}"
        )
    if not raw:
        raise ModelError(f"script {source}: no entries; add at least one (a catch-all is fine)")
    entries: list[ScriptEntry] = []
    for index, item in enumerate(raw):
        try:
            entries.append(ScriptEntry.model_validate(item))
        except ValidationError as error:
            field, message = _first_problem(error)
            raise ModelError(
                f"script {source}: entry {index}: field {field}: {message} "
                f"(entries take match, turns or reply, and repeat_last)"
            ) from error
    return Script(source=source, entries=entries)


# Union branches Pydantic names in an error location; they mean nothing to a script author.
_BRANCH_TAGS = frozenset({"str", "ScriptTurn"})


def _first_problem(error: ValidationError) -> tuple[str, str]:
    """The field path and message of the most telling validation problem.

    For a turn that is neither a string nor a valid mapping, Pydantic reports both union
    branches; the mapping branch names the actual bad field, so it is preferred.
    """
    problems = error.errors()
    chosen = next((p for p in problems if "str" not in p["loc"]), problems[0])
    parts = [str(part) for part in chosen["loc"] if part not in _BRANCH_TAGS]
    message = str(chosen["msg"]).removeprefix("Value error, ")
    return ".".join(parts) or "(entry)", message


def _read_file(path: Path) -> Any:
    if path.suffix.lower() not in _SUFFIXES:
        raise ModelError(
            f"script {path}: unsupported file type {path.suffix!r}; use one of {', '.join(_SUFFIXES)}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ModelError(f"script {path}: cannot be read ({error.strerror or error})") from error
    try:
        if path.suffix.lower() == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ModelError(f"script {path}: not valid {path.suffix[1:].upper()}: {error}") from error


class ScriptedModelAPI(ModelAPI):
    """Inspect provider for ``corrigible/scripted``.

    Model args: ``script``, a path to a ``.yaml``/``.yml``/``.json``/``.jsonl`` script or a list
    of entries. Usage is reported in whitespace-separated words, an approximation chosen because
    it is deterministic and needs no tokenizer.
    """

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig | None = None,
        script: str | Path | Sequence[Any] | None = None,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config or GenerateConfig())
        if model_args:
            raise ModelError(
                f"unknown model args for corrigible/{model_name}: {', '.join(sorted(model_args))}; "
                "the only one accepted is script"
            )
        if script is None:
            raise ModelError(
                "corrigible/scripted needs a script: pass -M script=path/to/script.yaml "
                "(or get_model('corrigible/scripted', script=[...]))"
            )
        self.script = load_script(script)

    async def count_text_tokens(self, text: str) -> int:
        """Whitespace-separated words: approximate, deterministic, offline."""
        return len(text.split())

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> tuple[ModelOutput, ModelCall]:
        """Return the scripted turn for this sample and conversation."""
        metadata = active_sample_metadata() or {}
        sample = metadata.get("sample")
        context = MatchContext(
            family=_as_str(metadata.get("family")),
            condition=_as_str(metadata.get("condition")),
            sample=sample if isinstance(sample, int) and not isinstance(sample, bool) else None,
            text="\n".join(message.text for message in input),
        )
        found = self.script.find(context)
        if found is None:
            raise ModelError(
                f"script {self.script.source}: no entry matches condition {context.condition!r}, "
                f"sample {context.sample!r} (family {context.family!r}); add an entry whose match "
                "covers it, or a catch-all entry without 'match'"
            )
        index, entry = found
        turns = entry.all_turns
        turn_index = sum(isinstance(message, ChatMessageAssistant) for message in input)
        if turn_index < len(turns):
            turn: ScriptTurn | None = turns[turn_index]
        elif entry.repeat_last:
            turn = turns[-1]
        else:
            turn = None
        message = self._message(turn, tools if tool_choice != "none" else [])
        input_words = sum(len(m.text.split()) for m in input)
        output_words = len(message.text.split()) + sum(
            len(json.dumps(call.arguments).split()) + 1 for call in message.tool_calls or []
        )
        output = ModelOutput(
            model=self.model_name,
            choices=[
                ChatCompletionChoice(
                    message=message, stop_reason="tool_calls" if message.tool_calls else "stop"
                )
            ],
            usage=ModelUsage(
                input_tokens=input_words,
                output_tokens=output_words,
                total_tokens=input_words + output_words,
            ),
        )
        request = {
            "script": self.script.source,
            "entry": index,
            "turn": turn_index,
            **context.model_dump(exclude={"text"}),
        }
        return output, ModelCall.create(request, {"content": message.text})

    def _message(self, turn: ScriptTurn | None, tools: Sequence[ToolInfo]) -> ChatMessageAssistant:
        if turn is None:
            return ChatMessageAssistant(content="", model=self.model_name, source="generate")
        if turn.tool_calls:
            offered = {tool.name for tool in tools}
            for call in turn.tool_calls:
                if call.function not in offered:
                    logger.warning(
                        "script %s: tool call to %r, which was not offered (offered: %s)",
                        self.script.source,
                        call.function,
                        ", ".join(sorted(offered)) or "none",
                    )
            return ChatMessageAssistant(
                content=turn.content,
                tool_calls=[
                    ToolCall(
                        id=f"call_{uuid.uuid4().hex[:16]}",
                        function=call.function,
                        arguments=dict(call.arguments),
                    )
                    for call in turn.tool_calls
                ],
                model=self.model_name,
                source="generate",
            )
        if tools:
            return assistant_message_from_text(turn.content, tools, model=self.model_name)
        return ChatMessageAssistant(content=turn.content, model=self.model_name, source="generate")


def _as_str(value: Any) -> str | None:
    return None if value is None else str(value)
