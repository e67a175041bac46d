"""One tool call as the conditions read it, with views (recipients, hosts, paths, text) computed lazily."""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from corrigible.containment.guard._decision import _MAX_DEPTH, Agent
from corrigible.containment.guard._policy import ToolDeclaration, known_suffixes
from corrigible.containment.guard._provenance import Finding, Scan
from corrigible.text.addresses import is_internal, parse_recipients
from corrigible.text.ids import normalise_id

if TYPE_CHECKING:
    from corrigible.containment.guard._guard import Guard
    from corrigible.containment.guard._session import Session


# -- one call, with lazily computed views ---------------------------------------------------------


class _Malformed(Exception):
    """The call cannot be read safely; the guard answers fail-closed."""


def _flatten(value: Any, out: list[str], depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        raise _Malformed(f"arguments nest deeper than {_MAX_DEPTH} levels")
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, bytes):
        out.append(value.decode("utf-8", "replace"))
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        out.append(str(value))
    elif isinstance(value, Mapping):
        for v in value.values():
            _flatten(v, out, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            _flatten(v, out, depth + 1)
    else:
        out.append(str(value))


def _strings_of(value: Any) -> list[str]:
    out: list[str] = []
    _flatten(value, out)
    return out


_COMMAND_HOST = re.compile(
    r"[a-z][a-z0-9+.-]*://[^\s'\"<>]+"
    r"|(?<![\w/.-])(?:[\w.-]+@)?(?P<remote>[a-z0-9-]+(?:\.[a-z0-9-]+)+):(?!//)",
    re.IGNORECASE,
)


class _Call:
    """One tool call under decision. Views (recipients, payload scan, …) are computed on first
    use, so a rule that looks only at the tool name costs nothing more."""

    __slots__ = (
        "guard",
        "session",
        "tool",
        "spec",
        "args",
        "agent",
        "now",
        "_strings",
        "_recipients",
        "_suffixes",
        "_hosts",
        "_paths",
        "_commands",
        "_sinks",
        "_scan",
        "findings",
    )

    def __init__(
        self,
        guard: Guard,
        session: Session,
        tool: str,
        spec: ToolDeclaration | None,
        args: dict[str, Any],
        agent: Agent | None,
        now: float,
    ) -> None:
        self.guard = guard
        self.session = session
        self.tool = tool
        self.spec = spec
        self.args = args
        self.agent = agent
        self.now = now
        self._strings: list[str] | None = None
        self._recipients: list[str] | None = None
        self._suffixes: frozenset[str] | None = None
        self._hosts: list[str] | None = None
        self._paths: list[str] | None = None
        self._commands: list[str] | None = None
        self._sinks: dict[str, list[str]] | None = None
        self._scan: Scan | None = None
        self.findings: list[Finding] = []

    def role_args(self, role: str) -> list[str]:
        """String values of the arguments playing ``role`` (declared or inferred by name)."""
        names = self.spec.role(role) if self.spec is not None else _DEFAULT_ROLE_NAMES[role]
        out: list[str] = []
        for name in names:
            if name in self.args:
                _flatten(self.args[name], out)
        return out

    def _payload_texts(self) -> list[str]:
        """The call's strings as content: every argument, except a recipient field that is
        nothing but one readable address. Writing to Ingrid is not leaking Ingrid's address
        from the customer list she is on; a recipient field holding anything more is content."""
        names = self.spec.role("recipients") if self.spec is not None else None
        if names is None:
            names = _DEFAULT_ROLE_NAMES["recipients"]
        out: list[str] = []
        for name, value in self.args.items():
            if (
                name in names
                and isinstance(value, str)
                and "@" in value
                and " " not in value.strip()
                and len(value) <= 254
                and len(parse_recipients(value)) == 1
            ):
                continue
            _flatten(value, out)
        return out

    def mentioned(self) -> list[str]:
        """String values of the arguments the tool declares as ``mentions``."""
        if self.spec is None or not self.spec.mentions:
            return []
        out: list[str] = []
        for name in self.spec.mentions:
            if name in self.args:
                _flatten(self.args[name], out)
        return out

    @property
    def strings(self) -> list[str]:
        if self._strings is None:
            self._strings = _strings_of(self.args)
        return self._strings

    @property
    def recipients(self) -> list[str]:
        """Addresses, lower-cased; an unreadable recipient field becomes ``unreadable:…``."""
        if self._recipients is None:
            out: list[str] = []
            for value in self.role_args("recipients"):
                found = parse_recipients(value)
                if found:
                    out.extend(a for a in found if a not in out)
                elif value.strip():
                    out.append("unreadable:" + value.strip()[:80])
            for value in self.mentioned():
                if "@" in value:
                    for entry in _MENTIONED_ADDRESS.findall(value):
                        out.extend(a for a in parse_recipients(entry) if a not in out)
            self._recipients = out
        return self._recipients

    @property
    def recipient_suffixes(self) -> frozenset[str]:
        """Every domain a readable recipient is in: ``a@x.corp.example`` is in
        ``x.corp.example``, ``corp.example`` and ``example`` — the same test as
        :func:`is_internal` (exact domain or a subdomain), as one set for all recipients."""
        if self._suffixes is None:
            out: set[str] = set()
            for r in self.recipients:
                if r.startswith("unreadable:"):
                    continue
                parts = r.rsplit("@", 1)[-1].lower().rstrip(".").split(".")
                out.update(".".join(parts[i:]) for i in range(len(parts)))
            self._suffixes = frozenset(out)
        return self._suffixes

    @property
    def hosts(self) -> list[str]:
        if self._hosts is None:
            out: list[str] = []
            for value in self.role_args("hosts"):
                host = _host_of(value)
                if host and host not in out:
                    out.append(host)
                elif not host and value.strip():
                    out.append("unreadable:" + value.strip()[:80])
            for value in self.mentioned():
                for host in _mentioned_hosts(value):
                    if host not in out:
                        out.append(host)
            # a shell command reaches the hosts it names: URLs (curl, wget, python -c …) and
            # scp/rsync/ssh targets (``user@host:path``, ``host:path``)
            for command in self.commands:
                for match in _COMMAND_HOST.finditer(command):
                    host = (
                        _host_of(match.group(0))
                        if "://" in match.group(0)
                        else (match.group("remote") or "").lower()
                    )
                    if host and host not in out:
                        out.append(host)
            self._hosts = out
        return self._hosts

    @property
    def paths(self) -> list[str]:
        if self._paths is None:
            self._paths = [_norm_path(p) for p in self.role_args("paths") if p.strip()]
        return self._paths

    @property
    def commands(self) -> list[str]:
        if self._commands is None:
            self._commands = self.role_args("commands")
        return self._commands

    def sinks(self, to: Literal["outside", "any"]) -> list[str]:
        """Recipients and hosts (``host:…``) the call reaches, those outside the boundary only
        unless ``to == "any"``. An unreadable recipient or host always counts as outside.
        Computed once per ``to`` and call: every ``carries`` rule and the commit share it."""
        if self._sinks is None:
            self._sinks = {}
        elif to in self._sinks:
            return self._sinks[to]
        guard = self.guard
        out = [r for r in self.recipients if to == "any" or not _domain_in(r, guard.domains)]
        out.extend(
            "host:" + h for h in self.hosts if to == "any" or not _domain_in(h, guard.host_domains)
        )
        self._sinks[to] = out
        return out

    @property
    def scan(self) -> Scan:
        """The payload compared with the session's tracked content (once per call)."""
        if self._scan is None:
            texts = self._payload_texts()
            whole: list[int] = []
            if self.spec is not None:
                for name in self.spec.refs:
                    if name not in self.args:
                        continue
                    for ref in _strings_of(self.args[name]):
                        item = self.session._items.get(normalise_id(ref))
                        if item is None:
                            continue
                        text, doc = item
                        if doc is not None:
                            whole.append(doc)
                        else:
                            texts.append(text)
            self._scan = self.session.tracker.scan(texts, whole=whole)
        return self._scan


_DEFAULT_ROLE_NAMES = {
    role: ToolDeclaration(name="_").role(role)
    for role in ("recipients", "hosts", "paths", "commands")
}


_MENTIONED_ADDRESS = re.compile(r"[^\s,;<>()\"']+@[^\s,;<>()\"']+")
_MENTIONED_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.IGNORECASE)
_MENTIONED_NAME = re.compile(r"(?<![\w@./-])((?:[a-z0-9-]+\.)+[a-z]{2,})(?::\d+)?(?![\w/.-])", re.I)
_FILE_ENDINGS = frozenset(
    [
        "py",
        "sh",
        "md",
        "pl",
        "rs",
        "so",
        "ps",
        "cc",
        "ml",
        "cs",
        "gz",
        "zip",
        "bz",
        "mov",
        "rb",
        "lua",
        "js",
        "ts",
    ]
)
"""Country-code suffixes that are far more often a file's extension in a config value."""


def _mentioned_hosts(value: str) -> list[str]:
    """Hosts a free-text value names: URL hosts (``s3://bucket.example.net/x``), and bare names
    under a known public suffix (``relay.example.io:587``) — not ``backup.yaml``."""
    out = [h for h in map(_host_of, _MENTIONED_URL.findall(value)) if h]
    rest = _MENTIONED_URL.sub(" ", value)
    suffixes = known_suffixes()
    for name in _MENTIONED_NAME.findall(rest):
        name = name.lower()
        if name.rsplit(".", 1)[-1] in _FILE_ENDINGS:
            continue
        suffix = suffixes.publicsuffix(name)
        if suffix is not None and suffix != name:
            out.append(name)
    return out


def _host_of(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        if "://" in value:
            host = urlsplit(value).hostname or ""
        else:
            host = urlsplit("//" + value).hostname or ""
    except ValueError:
        return ""
    return host.lower().rstrip(".")


def _norm_path(value: str) -> str:
    value = value.strip().replace("\\", "/")
    if "%" in value:
        value = unquote(value)
    if not value:
        return value
    normal = posixpath.normpath(value)
    return "/" + normal.lstrip("/") if value.startswith("//") else normal


@functools.lru_cache(maxsize=65536)
def _inside(address: str, domains: tuple[str, ...]) -> bool:
    """:func:`is_internal`, memoised: the same few addresses recur across a session's calls."""
    return is_internal(address, list(domains))


def _domain_in(address: str, domains: tuple[str, ...]) -> bool:
    return not address.startswith("unreadable:") and _inside(address, domains)
