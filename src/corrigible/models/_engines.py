"""The engines that run SmolLM2 (transformers, or llama.cpp when installed), one per backend,
and what they share: generation parameters, completions, fitting a prompt to the context.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, cast

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    GenerateConfig,
)

from corrigible.errors import ModelError
from corrigible.models import activity
from corrigible.models._weights import (
    _CACHE_DTYPE,
    _CACHE_MARKER,
    _remove_tree,
    _write_cache,
    find_smollm2_gguf,
    smollm2_cache_dir,
)
from corrigible.models.tool_text import (
    render_tool_calls,
)

logger = logging.getLogger(__name__)

Backend = Literal["auto", "transformers", "llama_cpp"]
BACKENDS: tuple[str, ...] = ("auto", "transformers", "llama_cpp")

CONTEXT_WINDOW = 8192
"""SmolLM2-135M's trained context (``max_position_embeddings``)."""

DEFAULT_MAX_TOKENS = 512
"""New tokens per reply when the config sets none: enough for a scratchpad and a tool block."""

_MIN_PROMPT_BUDGET = 256
_TRUNCATION_MARK = "\n[... earlier text cut to fit the context window ...]\n"
_GENERATION_LOCK = threading.Lock()
_ENGINE_LOCK = threading.Lock()
_ENGINES: dict[str, _Engine] = {}

# --------------------------------------------------------------------------------------------
# Generation parameters and prompt fitting


@dataclass(frozen=True)
class GenerationParams:
    """The subset of Inspect's ``GenerateConfig`` the embedded model honours."""

    max_new_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 0.0
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    stop_seqs: tuple[str, ...] = ()

    @property
    def greedy(self) -> bool:
        """Temperature 0 (or unset) means greedy decoding, which is deterministic."""
        return self.temperature <= 0.0

    @classmethod
    def from_config(cls, config: GenerateConfig) -> GenerationParams:
        """Read the fields we honour; ``None`` means our default."""
        max_tokens = config.max_tokens if config.max_tokens is not None else DEFAULT_MAX_TOKENS
        if max_tokens < 1:
            raise ModelError(f"max_tokens must be at least 1, got {max_tokens}")
        max_tokens = min(max_tokens, CONTEXT_WINDOW - _MIN_PROMPT_BUDGET)
        return cls(
            max_new_tokens=max_tokens,
            temperature=float(config.temperature or 0.0),
            top_p=config.top_p,
            top_k=config.top_k,
            seed=config.seed,
            stop_seqs=tuple(s for s in (config.stop_seqs or []) if s),
        )


@dataclass(frozen=True)
class Completion:
    """One finished generation, as a backend reports it."""

    text: str
    input_tokens: int
    output_tokens: int
    stop_reason: Literal["stop", "max_tokens"]
    truncated_prompt: bool = False


class _Engine(Protocol):
    """What a backend offers: token counting and a blocking chat completion."""

    backend: str

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int: ...

    def complete(self, messages: list[dict[str, str]], params: GenerationParams) -> Completion: ...


def chat_messages_to_dicts(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    """Map Inspect messages to the ``role``/``content`` dicts a chat template takes.

    SmolLM2's template knows system, user and assistant only. Tool results become user turns
    prefixed ``Tool result (<function>):`` and an assistant's native tool calls are written back
    as text-protocol blocks, so the model sees the whole tool loop in the one format it is asked
    to write.
    """
    converted: list[dict[str, str]] = []
    for message in messages:
        if isinstance(message, ChatMessageSystem):
            converted.append({"role": "system", "content": message.text})
        elif isinstance(message, ChatMessageUser):
            converted.append({"role": "user", "content": message.text})
        elif isinstance(message, ChatMessageAssistant):
            parts = [message.text] if message.text else []
            if message.tool_calls:
                parts.append(render_tool_calls(message.tool_calls))
            converted.append({"role": "assistant", "content": "\n".join(parts)})
        elif isinstance(message, ChatMessageTool):
            function = message.function or "tool"
            if message.error is not None:
                body = f"Tool error ({function}): {message.error.message}"
            else:
                body = f"Tool result ({function}):\n{message.text}"
            converted.append({"role": "user", "content": body})
        else:  # a future message type: keep its text rather than fail the sample
            converted.append({"role": "user", "content": message.text})
    return converted


def fit_to_context(
    messages: list[dict[str, str]],
    count: Callable[[list[dict[str, str]]], int],
    encode: Callable[[str], list[int]],
    decode: Callable[[Sequence[int]], str],
    budget: int,
) -> tuple[list[dict[str, str]], bool]:
    """Shrink ``messages`` until ``count(messages) <= budget``; return them and whether cut.

    Keeps what a scenario cannot lose: the system prompt (the agent's role and tools), the
    first user message (the task and inbox) and the latest message (what must be answered
    now). Whole messages between those are dropped from the left of the middle, oldest first;
    if that is not enough, the longest kept message (a system prompt only as a last resort)
    loses tokens from its middle, slightly left of centre, so its opening and its most recent
    text both survive.
    """
    fitted = [dict(message) for message in messages]
    if count(fitted) <= budget:
        return fitted, False
    while count(fitted) > budget:
        first = next((i for i, m in enumerate(fitted) if m["role"] != "system"), None)
        droppable = [
            i
            for i, message in enumerate(fitted)
            if message["role"] != "system" and i not in (first, len(fitted) - 1)
        ]
        if not droppable:
            break
        del fitted[droppable[0]]
    mark = len(encode(_TRUNCATION_MARK))
    for _ in range(8):  # each pass cuts the measured excess; a few passes absorb re-tokenising
        excess = count(fitted) - budget
        if excess <= 0:
            break
        sizes = {i: len(encode(m["content"])) for i, m in enumerate(fitted)}
        spare = [i for i, m in enumerate(fitted) if m["role"] != "system" and sizes[i] > 2 * mark]
        longest = max(spare or list(sizes), key=lambda i: sizes[i])
        ids = encode(fitted[longest]["content"])
        keep = max(0, len(ids) - (excess + mark + 8))
        head = keep * 2 // 5
        tail = keep - head
        fitted[longest]["content"] = (
            decode(ids[:head]) + _TRUNCATION_MARK + (decode(ids[len(ids) - tail :]) if tail else "")
        )
    return fitted, True


# --------------------------------------------------------------------------------------------
# Backends


def _thread_count() -> int:
    """Intra-op threads: ``$CORRIGIBLE_THREADS`` or the usable cores, at most 8.

    A 135M model gains nothing past a handful of threads, and oversubscribing a small machine
    slows everything else running beside the evaluation.
    """
    configured = os.environ.get("CORRIGIBLE_THREADS")
    if configured:
        try:
            return max(1, int(configured))
        except ValueError as error:
            raise ModelError(
                f"CORRIGIBLE_THREADS must be a whole number of threads, got {configured!r}"
            ) from error
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return max(1, min(usable, 8))


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Hide transformers' progress bars while loading; they would scribble over Inspect's UI.

    The GGUF converter uses a bare ``tqdm`` that ignores transformers' progress-bar switch, so
    its module's ``tqdm`` is swapped for a silenced one for the duration (loads hold
    ``_ENGINE_LOCK``, so nothing else is converting meanwhile).
    """
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    gguf_utils: Any = None
    original: Any = None
    try:
        import transformers.modeling_gguf_pytorch_utils as gguf_utils

        original = getattr(gguf_utils, "tqdm", None)
        if original is not None:
            gguf_utils.tqdm = functools.partial(original, disable=True)
    except ImportError:  # a transformers without GGUF support fails later with a clear error
        gguf_utils = None
    try:
        yield
    finally:
        if gguf_utils is not None and original is not None:
            gguf_utils.tqdm = original
        if was_enabled:
            hf_logging.enable_progress_bar()


class _TransformersEngine:
    """SmolLM2 through transformers on CPU, float32, loaded from the safetensors cache."""

    backend = "transformers"

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self._threads = _thread_count()
        eos = {self._tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")}
        if self._tokenizer.eos_token_id is not None:
            eos.add(self._tokenizer.eos_token_id)
        self._eos_ids = sorted(i for i in eos if isinstance(i, int) and i >= 0)

    @classmethod
    def load(cls) -> _TransformersEngine:
        """Load from the cache, building it from the GGUF first when missing or unreadable."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch

        torch.set_num_threads(_thread_count())
        gguf = find_smollm2_gguf()
        cache = smollm2_cache_dir(gguf)
        started = time.perf_counter()
        with _quiet_transformers():
            engine = cls._from_cache(cache) if (cache / _CACHE_MARKER).is_file() else None
            if engine is None:
                engine = cls._from_gguf(gguf, cache)
        logger.info(
            "loaded SmolLM2 (transformers, %s, %d threads) in %.1f s",
            _CACHE_DTYPE,
            torch.get_num_threads(),
            time.perf_counter() - started,
        )
        return engine

    @classmethod
    def _from_cache(cls, cache: Path) -> _TransformersEngine | None:
        """Load the cached copy; ``None`` (after discarding it) when it does not load."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(cache, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(
                cache, dtype=getattr(torch, _CACHE_DTYPE), local_files_only=True
            )
        except Exception as error:  # any failure means a corrupt cache: rebuild it
            logger.warning("SmolLM2 cache at %s is unreadable (%s); rebuilding it", cache, error)
            _remove_tree(cache)
            return None
        model.eval()
        return cls(model, tokenizer)

    @classmethod
    def _from_gguf(cls, gguf: Path, cache: Path) -> _TransformersEngine:
        """Dequantise the GGUF (slow, once), then write the cache atomically."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        logger.info("converting %s for transformers (once; later loads use %s)", gguf, cache)
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                gguf.parent, gguf_file=gguf.name, local_files_only=True
            )
            model = AutoModelForCausalLM.from_pretrained(
                gguf.parent, gguf_file=gguf.name, local_files_only=True
            )
        except ImportError as error:
            raise ModelError(
                f"transformers cannot read the GGUF weights ({error}); install the readers "
                "with `pip install gguf accelerate`"
            ) from error
        model = model.to(getattr(torch, _CACHE_DTYPE))
        # transformers marks a GGUF-loaded model as quantised and then refuses save_pretrained
        # ("quantized with gguf and is not serializable"). The weights are already dequantised,
        # so drop the marker, and the config entry that would make the cache look quantised.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.eval()
        try:
            _write_cache(cache, model, tokenizer, gguf)
        except OSError as error:  # a read-only home must not stop the model from running
            logger.warning(
                "could not write the SmolLM2 cache to %s (%s); set CORRIGIBLE_CACHE_DIR to a "
                "writable folder to make later loads fast",
                cache,
                error,
            )
        return cls(model, tokenizer)

    def encode(self, text: str) -> list[int]:
        """Token ids of plain text (no special tokens added)."""
        return list(self._tokenizer.encode(text, add_special_tokens=False))

    def decode(self, ids: Sequence[int]) -> str:
        """Text of token ids."""
        return str(self._tokenizer.decode(list(ids), skip_special_tokens=False))

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        """Length of the templated prompt, generation prompt included."""
        return len(self._prompt_ids(messages))

    def _prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        rendered = self._tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        return list(self._tokenizer.encode(rendered, add_special_tokens=False))

    def complete(self, messages: list[dict[str, str]], params: GenerationParams) -> Completion:
        """Generate one reply; blocking, so call it from a worker thread."""
        import torch
        from transformers import GenerationConfig

        budget = CONTEXT_WINDOW - params.max_new_tokens
        fitted, truncated = fit_to_context(
            messages, self.prompt_tokens, self.encode, self.decode, budget
        )
        prompt = self._prompt_ids(fitted)
        sampling: dict[str, Any] = {"do_sample": False}
        if not params.greedy:
            sampling = {"do_sample": True, "temperature": params.temperature}
            if params.top_p is not None:
                sampling["top_p"] = params.top_p
            if params.top_k is not None:
                sampling["top_k"] = params.top_k
        generation = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            eos_token_id=self._eos_ids,
            pad_token_id=self._eos_ids[0] if self._eos_ids else None,
            stop_strings=list(params.stop_seqs) or None,
            **sampling,
        )
        input_ids = torch.tensor([prompt], dtype=torch.long)
        with _GENERATION_LOCK, torch.inference_mode():
            # per call: with OpenMP the thread count is per calling thread, and anyio may hand
            # each generation a different worker thread
            torch.set_num_threads(self._threads)
            if not params.greedy and params.seed is not None:
                torch.manual_seed(params.seed)
            output = self._model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                generation_config=generation,
                tokenizer=self._tokenizer if params.stop_seqs else None,
                streamer=_token_counter(),
            )
        new_ids = [int(i) for i in output[0, len(prompt) :].tolist()]
        ended = bool(new_ids) and new_ids[-1] in self._eos_ids
        text = str(self._tokenizer.decode(new_ids, skip_special_tokens=True))
        text, stopped = _cut_at_stop(text, params.stop_seqs)
        finished = ended or stopped or len(new_ids) < params.max_new_tokens
        return Completion(
            text=text,
            input_tokens=len(prompt),
            output_tokens=len(new_ids),
            stop_reason="stop" if finished else "max_tokens",
            truncated_prompt=truncated,
        )


def _token_counter() -> Any:
    """A transformers streamer that counts generated tokens into :mod:`models.activity` as they
    come (the first call to ``put`` carries the prompt, which is not generated)."""
    from transformers.generation.streamers import BaseStreamer

    class _Counter(BaseStreamer):  # type: ignore[misc]
        prompt_seen = False

        def put(self, value: Any) -> None:
            if not self.prompt_seen:
                self.prompt_seen = True
                return
            activity.add_tokens(int(value.numel()))

        def end(self) -> None:
            return None

    return _Counter()


class _LlamaCppEngine:
    """SmolLM2 through llama-cpp-python, straight from the GGUF (extra ``corrigible[llama]``)."""

    backend = "llama_cpp"

    def __init__(self, llm: Any) -> None:
        self._llm = llm

    @classmethod
    def load(cls) -> _LlamaCppEngine:
        """Open the GGUF with llama.cpp; there is nothing to convert or cache."""
        try:
            from llama_cpp import Llama
        except ImportError as error:
            raise ModelError(
                "backend='llama_cpp' needs llama-cpp-python: `pip install 'corrigible[llama]'` "
                "(it compiles for several minutes), or use backend='transformers'"
            ) from error
        gguf = find_smollm2_gguf()
        started = time.perf_counter()
        threads = _thread_count()
        llm = Llama(
            model_path=str(gguf),
            n_ctx=CONTEXT_WINDOW,
            n_threads=threads,
            n_threads_batch=threads,  # its default is every core, prompt processing included
            verbose=False,
        )
        logger.info("loaded SmolLM2 (llama.cpp) in %.1f s", time.perf_counter() - started)
        return cls(llm)

    def encode(self, text: str) -> list[int]:
        """Token ids of plain text (no BOS)."""
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def decode(self, ids: Sequence[int]) -> str:
        """Text of token ids (invalid UTF-8 at a cut is dropped)."""
        return bytes(self._llm.detokenize(list(ids))).decode("utf-8", errors="ignore")

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        """Length of the prompt in SmolLM2's ChatML form, which llama.cpp applies from the GGUF."""
        rendered = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return len(self.encode(rendered + "<|im_start|>assistant\n"))

    def complete(self, messages: list[dict[str, str]], params: GenerationParams) -> Completion:
        """Generate one reply with ``create_chat_completion``; blocking."""
        budget = CONTEXT_WINDOW - params.max_new_tokens
        fitted, truncated = fit_to_context(
            messages, self.prompt_tokens, self.encode, self.decode, budget
        )
        kwargs: dict[str, Any] = {
            "messages": fitted,
            "max_tokens": params.max_new_tokens,
            "temperature": 0.0 if params.greedy else params.temperature,
            "stop": list(params.stop_seqs) or None,
        }
        if not params.greedy:
            if params.top_p is not None:
                kwargs["top_p"] = params.top_p
            if params.top_k is not None:
                kwargs["top_k"] = params.top_k
            if params.seed is not None:
                kwargs["seed"] = params.seed
        with _GENERATION_LOCK:
            result = self._llm.create_chat_completion(**kwargs)
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        text = choice["message"].get("content") or ""
        output_tokens = int(usage.get("completion_tokens") or len(self.encode(text)))
        activity.add_tokens(output_tokens)  # llama.cpp here returns the reply whole
        return Completion(
            text=text,
            input_tokens=int(usage.get("prompt_tokens") or self.prompt_tokens(fitted)),
            output_tokens=output_tokens,
            stop_reason="max_tokens" if choice.get("finish_reason") == "length" else "stop",
            truncated_prompt=truncated,
        )


def _llama_cpp_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def resolve_backend(backend: str) -> str:
    """Turn ``auto`` into a concrete backend; reject unknown names with the accepted ones."""
    if backend not in BACKENDS:
        raise ModelError(
            f"unknown backend {backend!r} for corrigible/smollm2: use one of "
            f"{', '.join(BACKENDS)} (e.g. -M backend=transformers)"
        )
    if backend == "auto":
        return "llama_cpp" if _llama_cpp_available() else "transformers"
    if backend == "llama_cpp" and not _llama_cpp_available():
        raise ModelError(
            "backend='llama_cpp' needs llama-cpp-python: `pip install 'corrigible[llama]'` "
            "(it compiles for several minutes), or use backend='transformers'"
        )
    return backend


def load_engine(backend: str = "auto") -> _Engine:
    """Return the process-wide engine for ``backend``, loading it on first use.

    Blocking (seconds on first call); async callers run it in a worker thread.
    """
    concrete = resolve_backend(backend)
    with _ENGINE_LOCK:
        engine = _ENGINES.get(concrete)
        if engine is None:
            loader = _LlamaCppEngine.load if concrete == "llama_cpp" else _TransformersEngine.load
            engine = cast(_Engine, loader())
            _ENGINES[concrete] = engine
        return engine


def _cut_at_stop(text: str, stop_seqs: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` at the earliest stop sequence (transformers keeps it in the output)."""
    cuts = [index for index in (text.find(stop) for stop in stop_seqs) if index >= 0]
    if not cuts:
        return text, False
    return text[: min(cuts)], True
