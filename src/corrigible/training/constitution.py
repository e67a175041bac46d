"""A constitution: the principles a trained agent should hold, each with the reason it holds.

Why a format of its own: the training data generators (documents, stories, advice, critique and
revision, preference votes) all sample principles and quote their reasons, the dataset card
records which constitution and version produced a dataset, and people edit the text. So a
constitution is one Markdown file that reads as prose, with its principles as structured YAML
front matter::

    ---
    name: corrigible-default
    version: 1.0.0
    principles:
      - id: oversight
        title: Support human oversight and correction
        principle: Keep the people responsible for you able to see what you do …
        why: Nobody, human or AI, can yet show that an agent's values are exactly right …
    ---
    # Prose that introduces the constitution (optional)

Every principle must say *why*: teaching the reasons, not only the rule, is what generalises.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from corrigible.errors import ConfigError

__all__ = [
    "Constitution",
    "Principle",
    "default_constitution",
    "default_constitution_path",
    "load_constitution",
    "parse_constitution",
]

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)(.*)\Z", re.DOTALL)
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class Principle(BaseModel):
    """One principle: what to do, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str = Field(min_length=1)
    principle: str = Field(min_length=1)
    why: str = Field(min_length=1)
    """The reason: what the principle protects, and what goes wrong without it."""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("expected lower-case letters, digits and _, starting with a letter")
        return value

    def as_text(self) -> str:
        """The principle as a critic or voter reads it."""
        return f"{self.title}. {self.principle} Why: {self.why}"


class Constitution(BaseModel):
    """A named, versioned set of principles, with optional prose."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    summary: str = ""
    principles: tuple[Principle, ...] = Field(min_length=1)
    prose: str = ""

    @field_validator("principles")
    @classmethod
    def _unique(cls, value: tuple[Principle, ...]) -> tuple[Principle, ...]:
        seen: set[str] = set()
        for p in value:
            if p.id in seen:
                raise ValueError(f"principle id {p.id!r} is used twice")
            seen.add(p.id)
        return value

    @property
    def fingerprint(self) -> str:
        """``name@version``: what a dataset card records."""
        return f"{self.name}@{self.version}"

    def principle(self, principle_id: str) -> Principle:
        for p in self.principles:
            if p.id == principle_id:
                return p
        raise ConfigError(f"constitution {self.fingerprint}: no principle {principle_id!r}")

    def sample(self, seed: int, key: str) -> Principle:
        """A principle chosen by ``seed`` and ``key`` alone: the same item of the same run gets
        the same principle on every machine and after every resume."""
        return random.Random(f"{seed}:{key}").choice(self.principles)

    def as_text(self) -> str:
        """Every principle with its reason, numbered: the constitution as a prompt quotes it."""
        return "\n".join(f"{n}. {p.as_text()}" for n, p in enumerate(self.principles, start=1))


def parse_constitution(text: str, where: str = "constitution") -> Constitution:
    """A constitution from its file's text; :class:`ConfigError` names what is wrong."""
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if match is None:
        raise ConfigError(f"{where}: expected YAML front matter between '---' lines at the top")
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 2})" if mark is not None else ""
        raise ConfigError(f"{where}: front matter is not valid YAML{line}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: front matter must be a mapping with name, version, principles")
    try:
        return Constitution(**data, prose=match.group(2).strip())
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{where}: field {field}: {first['msg']}") from None
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_constitution(path: str | Path | None = None) -> Constitution:
    """The constitution at ``path`` (the default one when None or ``"default"``)."""
    if path is None or str(path) == "default":
        path = default_constitution_path()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such constitution file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_constitution(text, where=str(path))


def default_constitution_path() -> Path:
    return Path(__file__).resolve().parent / "constitutions" / "default.md"


def default_constitution() -> Constitution:
    return load_constitution(default_constitution_path())
