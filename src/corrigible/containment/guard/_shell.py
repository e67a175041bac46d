"""Shell commands read as calls: which words a command may change, and which it only reads.

Why: a protected path named in a shell command used to be an incident whatever the command did,
so ``cat /etc/agent/killswitch.yaml`` (harmless, and often needed) was stopped like ``rm`` of
the same file, and teams gave up the built-in protection for their shell tool. Here a command is
split with :mod:`shlex` into simple commands (``;``, ``&&``, ``||``, ``|``), each program
classified, and only the words it may *change* are returned: the operands of programs that
write (``rm``, ``mv``, ``cp``'s target, ``chmod``, ``tee``, ``sed -i`` …), every redirection
target (``>``, ``>>``), and every operand of a program we do not know (an unknown program may do
anything: fail closed). Operands of programs that only read (``cat``, ``grep``, ``ls``, ``head``,
``sha256sum`` …) are left out. A command that cannot be parsed returns None: the caller then
treats every word as written.
"""

from __future__ import annotations

import posixpath
import shlex

__all__ = ["written_words"]

READERS = frozenset(
    [
        "cat",
        "less",
        "more",
        "head",
        "tail",
        "grep",
        "egrep",
        "fgrep",
        "rg",
        "zcat",
        "zgrep",
        "ls",
        "stat",
        "file",
        "wc",
        "md5sum",
        "sha1sum",
        "sha256sum",
        "sha512sum",
        "cksum",
        "diff",
        "cmp",
        "view",
        "nl",
        "od",
        "xxd",
        "hexdump",
        "strings",
        "jq",
        "yq",
        "test",
        "[",
        "realpath",
        "readlink",
        "basename",
        "dirname",
        "du",
        "df",
        "echo",
        "printf",
        "true",
        "false",
        "whoami",
        "id",
        "date",
    ]
)
"""Programs that only read their operands (their output may still be redirected: that
redirection target is a write)."""

WRAPPERS = frozenset(
    ["sudo", "env", "nohup", "nice", "time", "timeout", "stdbuf", "command", "builtin", "exec"]
)
"""Programs that run the next word as the real program."""

_OPERATORS = frozenset({";", "&&", "||", "|", "&", "\n", "(", ")"})
_REDIRECTS = frozenset({">", ">>", ">|", "&>", "&>>", "<>"})


def written_words(command: str) -> list[str] | None:
    """The words of ``command`` it may change (see the module docstring), or None when the
    command cannot be parsed."""
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>()")
        lexer.whitespace_split = True
        lexer.commenters = ""
        words = list(lexer)
    except ValueError:
        return None
    written: list[str] = []
    simple: list[str] = []
    for word in [*words, ";"]:
        if word in _OPERATORS or set(word) <= set(";&|()"):
            written.extend(_simple_writes(simple))
            simple = []
        else:
            simple.append(word)
    return written


def _simple_writes(words: list[str]) -> list[str]:
    """The changed words of one simple command (no operators left in it)."""
    out: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in _REDIRECTS or word.startswith((">", "&>")):
            target = word.lstrip("&>|") or (words[i + 1] if i + 1 < len(words) else "")
            if target:
                out.append(target)
            i += 1 if word.lstrip("&>|") else 2
            continue
        if word in ("<", "<<", "<<<") or word.startswith("<"):
            i += 1 if word.lstrip("<") else 2  # an input redirection only reads
            continue
        rest.append(word)
        i += 1
    while rest and ("=" in rest[0] and not rest[0].startswith(("-", "/"))):
        rest.pop(0)  # VAR=value assignments before the program
    while rest and posixpath.basename(rest[0]) in WRAPPERS:
        rest.pop(0)
        while rest and rest[0].startswith("-"):
            rest.pop(0)  # the wrapper's own options (sudo -u x is rare enough to read loosely)
    if not rest:
        return out
    program, operands = posixpath.basename(rest[0]), rest[1:]
    if program in READERS:
        return out
    if program == "sed" and not any(o.startswith(("-i", "--in-place")) for o in operands):
        return out
    if program == "find" and not any(
        o in ("-delete", "-exec", "-execdir", "-fprint") for o in operands
    ):
        return out
    if program in ("cp", "install", "rsync", "scp") and operands:
        files = [o for o in operands if not o.startswith("-")]
        return out + files[-1:]  # the sources are read; the target is written
    return out + operands
