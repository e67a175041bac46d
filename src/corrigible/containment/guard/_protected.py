"""Protected controls: does a call touch the kill switch, the policy, the monitoring or the audit log?

Paths are matched by glob intersection and named alternatives, inside arguments and shell commands.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

from corrigible.containment.guard._call import _Call, _host_of, _norm_path
from corrigible.containment.guard._conditions import _short
from corrigible.containment.guard._matchers import is_glob
from corrigible.containment.guard._policy import ProtectedControl
from corrigible.containment.guard._regex import compile_regex
from corrigible.containment.guard._shell import written_words

# -- protected controls ---------------------------------------------------------------------------

_TOKEN_SPLIT = re.compile(r"[\s\"'`;|&<>(),=]+")
_HOSTLIKE = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)+$")
_RECURSIVE = re.compile(r"(?:^|\s)(?:-[a-zA-Z]*[rR][a-zA-Z]*|--recursive)\b")


_BRACKET = re.compile(r"\[[^\]]*\]")


def _simple_glob(pattern: str) -> str:
    """A shell pattern with bracket classes read as ``?`` (close enough to test overlap)."""
    return _BRACKET.sub("?", pattern.casefold())


def _globs_intersect(a: str, b: str) -> bool:
    """Is there a path that both patterns match? (``*`` crosses ``/``, as in fnmatch.)

    Lets the guard see that ``rm /etc/corrigible/*`` reaches ``*/corrigible/policy.yaml``.
    """
    memo: dict[tuple[int, int], bool] = {}

    def go(i: int, j: int) -> bool:
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(a) and j == len(b):
            result = True
        elif i < len(a) and a[i] == "*":
            result = go(i + 1, j) or (j < len(b) and go(i, j + 1))
        elif j < len(b) and b[j] == "*":
            result = go(i, j + 1) or (i < len(a) and go(i + 1, j))
        elif i == len(a) or j == len(b):
            result = False
        else:
            result = (a[i] == b[j] or a[i] == "?" or b[j] == "?") and go(i + 1, j + 1)
        memo[key] = result
        return result

    return go(0, 0)


_PATHISH = frozenset("/.~*?")


def _named_alternatives(groups: Sequence[Sequence[str]]) -> re.Pattern[str] | None:
    """One regex over every control's shell patterns; the named group says which control."""
    parts = [
        f"(?P<c{i}>{'|'.join(fnmatch.translate(p) for p in patterns)})"
        for i, patterns in enumerate(groups)
        if patterns
    ]
    return re.compile("|".join(parts)) if parts else None


class _ProtectedIndex:
    """The protected controls, compiled so that an ordinary call costs a few C-level matches."""

    def __init__(self, controls: Sequence[ProtectedControl]) -> None:
        self.controls = list(controls)
        self._tools = _named_alternatives([[t.casefold() for t in c.tools] for c in self.controls])
        self._paths = [[_simple_glob(p) for p in c.paths] for c in self.controls]
        self._all_paths = _named_alternatives(self._paths)
        self._last_parts = frozenset(p.rsplit("/", 1)[-1] for ps in self._paths for p in ps)
        self._commands = [
            [compile_regex(r, ignore_case=True) for r in c.commands] for c in self.controls
        ]
        self._hosts = [[h.casefold() for h in c.hosts] for c in self.controls]
        self._any_commands = any(self._commands)
        self._any_hosts = any(self._hosts)
        self._active = self._all_paths is not None or self._any_commands or self._any_hosts

    def touched(self, call: _Call) -> tuple[ProtectedControl, str] | None:
        if self._tools is not None:
            hit = self._tools.match(call.tool.casefold())
            if hit is not None and hit.lastgroup is not None:
                control = self.controls[int(hit.lastgroup[1:])]
                return control, f"tool {call.tool} is the {control.control}"
        if not self._active:
            return None
        if call.spec is None:
            path_values = call.strings  # unknown roles: every string may be a path or command
            command_values = call.strings
        else:
            command_values = call.role_args("commands")
            path_values = call.role_args("paths") + command_values
        if not path_values and not call.hosts:
            return None
        # a whole value is one path (it may hold spaces) when it is a path argument, or when it
        # looks like one in a tool whose roles are unknown
        tokens: dict[str, None] = dict.fromkeys(
            v.strip()
            for v in path_values
            if (call.spec is not None and v not in command_values)
            or (call.spec is None and v.strip()[:1] in ("/", "~", "."))
        )
        commands = set(command_values) if call.spec is not None else set()
        for value in path_values:
            # a shell command only reaches a protected path by changing it: reading is allowed
            written = written_words(value) if value in commands else None
            for word in [value] if written is None else written:
                tokens.update(dict.fromkeys(t for t in _TOKEN_SPLIT.split(word) if t))
        recursive = any(_RECURSIVE.search(v) for v in command_values)
        if self._all_paths is not None:
            for token in tokens:
                if not token or _PATHISH.isdisjoint(token):
                    continue
                found = self._path_hit(token, recursive)
                if found is not None:
                    control, pattern = found
                    how = " (recursively)" if recursive else ""
                    return control, (
                        f"path {_short(token)}{how} reaches the {control.control} "
                        f"(protected: {pattern})"
                    )
        if self._any_commands:
            for index, regexes in enumerate(self._commands):
                for regex in regexes:
                    for value in command_values:
                        if regex.search(value):
                            control = self.controls[index]
                            return control, (
                                f"command {_short(value)!r} reaches the {control.control}"
                            )
        if self._any_hosts:
            hosts = list(call.hosts)
            for token in tokens:
                host = _host_of(token) if "://" in token else token.split("/")[0].lower()
                if _HOSTLIKE.match(host or ""):
                    hosts.append(host)
            for host in hosts:
                for index, patterns in enumerate(self._hosts):
                    for pattern in patterns:
                        if fnmatch.fnmatchcase(host, pattern) or (
                            not is_glob(pattern) and host.endswith("." + pattern)
                        ):
                            control = self.controls[index]
                            return control, f"host {host} is the {control.control}"
        return None

    def _most_specific(self, path: str) -> tuple[ProtectedControl, str]:
        """Of every control whose pattern matches ``path``, the one with the most specific
        pattern (the most literal characters): ``/etc/agent/killswitch.yaml`` under both
        ``/etc/agent/*`` (guard policy) and ``*/killswitch*`` (kill switch) is the kill switch."""
        matches = [
            (len(pattern) - sum(pattern.count(c) for c in "*?["), -index, pattern)
            for index, patterns in enumerate(self._paths)
            for pattern in patterns
            if fnmatch.fnmatchcase(path, pattern)
        ]
        _, negative_index, pattern = max(matches)
        return self.controls[-negative_index], pattern

    def _path_hit(self, token: str, recursive: bool) -> tuple[ProtectedControl, str] | None:
        """The control (and its pattern) a path-like token reaches, or None.

        Absolute paths are matched after ``..`` is resolved; the agent's own wildcards count
        (``/etc/corrigible/*``); a recursive command reaches everything below a directory it
        names; ``~`` is any home directory. A relative path is read against an unknown working
        directory: it reaches a pattern whose last parts it matches part by part, at least one of
        them a literal name (``policies/default.yaml`` reaches ``*/containment/policies/*``), or
        that matches it with a leading ``/`` (``audit.sqlite`` reaches ``*audit*.sqlite*``).
        """
        assert self._all_paths is not None
        path = _simple_glob(_norm_path(token))
        wild = is_glob(path)
        if path.startswith("~"):  # a home directory: an ordinary user's or root's
            rest = path[1:].lstrip("/")
            absolute = [f"/home/user/{rest}", f"/root/{rest}"] if rest else ["/home/user", "/root"]
        elif path.startswith("/"):
            absolute = [path]
        else:
            relative = [p for p in path.split("/") if p not in ("", ".")]
            while relative and relative[0] == "..":
                relative.pop(0)
            if not relative:
                return None
            flat = "/" + "/".join(relative)
            if not wild:
                hit = self._all_paths.match(flat)
                if hit is not None and hit.lastgroup is not None:
                    return self._most_specific(flat)
                if len(relative) == 1 and relative[0] not in self._last_parts:
                    return None  # the common case, decided without the comparison below
            for index, patterns in enumerate(self._paths):
                for pattern in patterns:
                    tail = pattern.split("/")[-len(relative) :]
                    if (
                        len(tail) == len(relative)
                        and any(not is_glob(t) for t in tail)
                        and all(_globs_intersect(r, t) for r, t in zip(relative, tail, strict=True))
                    ):
                        return self.controls[index], pattern
            return None
        if not wild and not recursive:
            for a in absolute:  # the common case: one C-level match for every control at once
                hit = self._all_paths.match(a)
                if hit is not None and hit.lastgroup is not None:
                    return self._most_specific(a)
            return None
        for index, patterns in enumerate(self._paths):
            for pattern in patterns:
                for a in absolute:
                    if _globs_intersect(a, pattern):
                        return self.controls[index], pattern
                    # a recursive command reaches below a directory: anchored patterns only (an
                    # unanchored ``*/x`` could sit below any directory; ``/`` reaches everything)
                    reaches_below = recursive and (pattern.startswith("/") or a == "/")
                    if reaches_below and _globs_intersect(a.rstrip("/") + "/*", pattern):
                        return self.controls[index], pattern
        return None
