"""A safe, located YAML reader for definition files.

It builds plain Python data (dict, list, str, int, float, bool, None) from the event
stream of the parser, never constructing Python objects from tags, and records the
line and column of every key and value. Along the way it rejects what PyYAML would
accept silently or dangerously:

* duplicate keys (PyYAML keeps the last one);
* YAML 1.1 surprises: ``on``/``off``/``yes``/``no`` and dates stay strings;
* tags other than the core ones (``!!python/object`` and friends);
* alias bombs, deep nesting and huge files (bounded work and memory);
* recursive aliases.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

import yaml

from coachflow._bounds import INT64_MAX, INT64_MIN
from coachflow.diagnostics import ERROR, UNKNOWN, Diagnostic, Mark

MAX_BYTES = 4 * 1024 * 1024
"""Largest definition file read (a 3,000-transition definition is ~0.5 MB)."""
MAX_DEPTH = 64
"""Deepest nesting of collections."""
MAX_NODES = 250_000
"""Most nodes in the document, counting every alias expansion."""

_TAG = "tag:yaml.org,2002:"
_DROPPED = object()  # stands for a collection used as a key: the entry is not kept
_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_HEX_RE = re.compile(r"^0x[0-9a-fA-F]+$")
_OCT_RE = re.compile(r"^0o[0-7]+$")
_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+)([eE][-+]?[0-9]+)?$")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})


class _EventSource(Protocol):
    """A PyYAML loader as the reader drives it (``yaml.SafeLoader``, ``yaml.CSafeLoader``)."""

    def check_event(self) -> bool: ...

    def get_event(self) -> yaml.Event | None: ...  # an event, once check_event() said so

    def dispose(self) -> None: ...


_Loader: TypeAlias = Callable[[str], _EventSource]
"""A PyYAML loader class, called with the text to read."""

_PurePython: _Loader = yaml.SafeLoader
try:  # libyaml when present: same events, faster
    _Parser: _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Parser = _PurePython


YamlScalar: TypeAlias = str | int | float | bool | None
"""A scalar as the reader builds it; a mapping key is one too (a collection key is dropped)."""
YamlData: TypeAlias = "YamlScalar | list[YamlData] | dict[YamlScalar, YamlData]"
"""A document as the reader builds it: plain scalars, lists and dicts."""
_Container: TypeAlias = "dict[YamlScalar, YamlData] | list[YamlData]"
"""A collection of a document."""


@dataclass(slots=True)
class YamlDocument:
    """The data of one YAML document and where each part of it stands in the file."""

    data: YamlData
    root: Mark = UNKNOWN
    # (line, column) as plain tuples, not Marks: the garbage collector stops tracking a
    # tuple of ints, and a large file has ~75,000 of them; see _at(). Keyed by collection
    # id, then by key or index; looked up with any path component (object)
    value_marks: dict[int, dict[object, Pos]] = field(default_factory=dict)
    key_marks: dict[int, dict[object, Pos]] = field(default_factory=dict)
    self_marks: dict[int, Pos] = field(default_factory=dict)

    def locate(self, path: tuple[object, ...], *, key: bool = False) -> Mark:
        """The mark of the node at ``path`` (or of its key, with ``key=True``).

        Path components that are not in the data (pydantic's union tags, for one) are
        skipped; a path that ends early gives the mark of the deepest node reached.
        """
        node: object = self.data
        mark = self.root
        last_key_mark: Mark | None = None
        for comp in path:
            child, child_mark, child_key_mark = self.step(node, comp)
            if child_mark is None:
                continue
            node, mark, last_key_mark = child, child_mark, child_key_mark
        if key and last_key_mark is not None:
            return last_key_mark
        return mark

    def step(self, node: object, comp: object) -> tuple[object, Mark | None, Mark | None]:
        """The child ``comp`` of ``node``, its mark and its key's mark; marks are None
        when there is no such child."""
        if isinstance(node, dict) and not isinstance(comp, bool):
            try:
                present = comp in node
            except TypeError:
                present = False
            if not present and isinstance(comp, str):
                # pydantic names a non-string key by its str(): find it
                comp = next((k for k in node if not isinstance(k, str) and str(k) == comp), comp)
                present = comp in node
            if present:
                vm = self.value_marks.get(id(node), {})
                km = self.key_marks.get(id(node), {})
                key_pos = km.get(comp)
                return (
                    node[comp],
                    _at(vm.get(comp, _NOWHERE)),
                    None if key_pos is None else _at(key_pos),
                )
        if isinstance(node, list) and isinstance(comp, int) and 0 <= comp < len(node):
            vm = self.value_marks.get(id(node), {})
            return node[comp], _at(vm.get(comp, _NOWHERE)), None
        return None, None, None

    def mark_of(self, value: object) -> Mark | None:
        """The mark of a collection by identity."""
        pos = self.self_marks.get(id(value))
        return None if pos is None else _at(pos)


Pos = tuple[int, int]
"""A 1-based (line, column), as the reader stores it."""
_NOWHERE: Pos = (0, 0)


def _at(pos: Pos) -> Mark:
    return Mark(pos[0], pos[1])


class YamlProblem(Exception):
    """Reading stopped: the diagnostic says why."""

    def __init__(self, code: str, message: str, mark: Mark) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.mark = mark


class _Position(Protocol):
    """A PyYAML mark (pure Python or libyaml's): 0-based."""

    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...


def _mark(m: _Position | None) -> Mark:
    if m is None:
        return Mark(1, 1)
    return Mark(m.line + 1, m.column + 1)


_SPECIAL_START = frozenset("0123456789+-.~nNtTfF")
"""The first characters of every plain scalar that is not a string."""


def _resolve_plain(value: str) -> YamlScalar:
    if value and value[0] not in _SPECIAL_START:
        return value  # a name or a sentence (most scalars): skip the four patterns
    if value in _NULLS:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if _INT_RE.match(value):
        return _integer(value, 10)
    if _HEX_RE.match(value):
        return _integer(value, 16)
    if _OCT_RE.match(value):
        return _integer(value, 8)
    if _FLOAT_RE.match(value):
        return float(value)
    return value


_INT64_DIGITS = {10: 19, 16: 16, 8: 22}
"""The most significant digits a signed 64-bit integer has, per base."""


def _integer(text: str, base: int) -> int:
    """The value of an integer literal (decimal with an optional sign, ``0x`` or ``0o``),
    when it fits a signed 64-bit integer: every integer a definition holds does (versions
    and counts are narrower still), so a longer one is refused before it is converted (a
    4,000-digit literal costs nothing, and nothing later has to print it)."""
    sign = "-" if text[0] == "-" else ""
    digits = text.lstrip("+-") if base == 10 else text[2:]
    significant = digits.lstrip("0") or "0"
    if len(significant) <= _INT64_DIGITS[base]:
        value = int(sign + significant, base)
        if INT64_MIN <= value <= INT64_MAX:
            return value
    shown = text if len(text) <= 30 else f"{text[:24]}...{text[-3:]} ({len(text):,} characters)"
    raise YamlProblem(
        "schema",
        f"the integer {shown} is out of range: integers in a definition fit a signed "
        f"64-bit integer ({INT64_MIN} to {INT64_MAX})",
        UNKNOWN,
    )


def _construct_tagged(tag: str, value: str, mark: Mark) -> YamlScalar:
    if tag in ("!", _TAG + "str"):
        return value
    if tag == _TAG + "null" and value in _NULLS:
        return None
    if tag == _TAG + "bool" and value in _TRUE | _FALSE:
        return value in _TRUE
    if tag == _TAG + "int" and (
        _INT_RE.match(value) or _HEX_RE.match(value) or _OCT_RE.match(value)
    ):
        return _resolve_plain(value)
    if tag == _TAG + "float" and (_FLOAT_RE.match(value) or _INT_RE.match(value)):
        return float(value)
    if tag in (_TAG + "null", _TAG + "bool", _TAG + "int", _TAG + "float"):
        short = tag.removeprefix(_TAG)
        raise YamlProblem("yaml-syntax", f"{value!r} is not a valid !!{short}", mark)
    raise YamlProblem("yaml-tag", f"unsupported YAML tag {_short_tag(tag)}", mark)


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


class _Builder:
    """Turns parser events into data, with marks, bounded in depth and size."""

    def __init__(self, doc: YamlDocument, diagnostics: list[Diagnostic], path: str) -> None:
        self.doc = doc
        self.diagnostics = diagnostics
        self.path = path
        # stack entries: [container, pending_key, has_key, key_pos, size,
        #                 value positions, key positions (None for a list)]
        self.stack: list[list[Any]] = []
        self.anchors: dict[str, tuple[YamlData, int]] = {}
        self.open_anchors: set[str] = set()
        self.anchor_of: list[str | None] = []
        self.total = 0

    def error(self, code: str, message: str, pos: Pos) -> None:
        self.diagnostics.append(Diagnostic(code, ERROR, message, self.path, pos[0], pos[1]))

    def _count(self, n: int, pos: Pos) -> None:
        self.total += n
        if self.total > MAX_NODES:
            raise YamlProblem(
                "yaml-too-large",
                f"the document expands to more than {MAX_NODES} nodes "
                "(aliases included); refusing to read it",
                _at(pos),
            )

    def add(self, value: YamlData, size: int, pos: Pos) -> None:
        """Attach a finished value to the collection being built."""
        self._count(size, pos)
        if not self.stack:
            self.doc.data = value
            self.doc.root = _at(pos)
            return
        top = self.stack[-1]
        container = top[0]
        top[4] += size
        if top[6] is None:  # a list
            top[5][len(container)] = pos
            container.append(value)
            return
        if not top[2]:  # this value is a key
            if isinstance(value, (dict, list)):
                self.error("schema", "a mapping key must be a plain value, not a collection", pos)
                top[1] = _DROPPED
            else:
                top[1] = value
            top[2], top[3] = True, pos
            return
        key, key_mark = top[1], top[3]
        top[1], top[2], top[3] = None, False, None
        if key is _DROPPED or not _hashable(key):
            return
        if key in container:
            first = self.doc.key_marks[id(container)][key]
            self.error(
                "duplicate-key",
                f"duplicate key {key!r} (first defined at line {first[0]}, column {first[1]})",
                key_mark,
            )
            return
        container[key] = value
        top[6][key] = key_mark
        top[5][key] = pos

    def start(self, container: _Container, anchor: str | None, pos: Pos) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise YamlProblem(
                "yaml-too-large",
                f"collections are nested deeper than {MAX_DEPTH} levels",
                _at(pos),
            )
        self.doc.self_marks[id(container)] = pos
        value_pos: dict[object, Pos] = {}
        key_pos: dict[object, Pos] | None = None
        self.doc.value_marks[id(container)] = value_pos
        if isinstance(container, dict):
            key_pos = self.doc.key_marks[id(container)] = {}
        self.stack.append([container, None, False, None, 1, value_pos, key_pos])
        self.anchor_of.append(anchor)
        if anchor is not None:
            self.open_anchors.add(anchor)

    def end(self) -> None:
        container, _, _, _, size, _, _ = self.stack.pop()
        anchor = self.anchor_of.pop()
        start_mark = self.doc.self_marks[id(container)]
        if anchor is not None:
            self.open_anchors.discard(anchor)
            self.anchors[anchor] = (container, size)
        # size was counted as children arrived; count only the container itself now
        self.total -= size - 1
        self.add(container, size, start_mark)

    def alias(self, name: str, pos: Pos) -> None:
        if name in self.open_anchors:
            raise YamlProblem("yaml-too-large", f"alias *{name} refers to itself", _at(pos))
        if name not in self.anchors:
            raise YamlProblem("yaml-syntax", f"alias *{name} is not defined", _at(pos))
        value, size = self.anchors[name]
        self.add(value, size, pos)

    def scalar(self, ev: yaml.ScalarEvent, pos: Pos) -> None:
        plain = not ev.style  # None (pure Python parser) or "" (libyaml)
        try:
            if ev.tag is None or ev.tag == "!" or (ev.implicit and ev.implicit[0] and plain):
                value = _resolve_plain(ev.value) if plain and ev.tag is None else ev.value
            else:
                value = _construct_tagged(ev.tag, ev.value, _at(pos))
        except YamlProblem as problem:
            self.error(problem.code, problem.message, pos)
            value = None
        if ev.anchor is not None:
            self.anchors[ev.anchor] = (value, 1)
        self.add(value, 1, pos)


_SCALAR = yaml.ScalarEvent
_MAPPING_END = yaml.MappingEndEvent
_SEQUENCE_END = yaml.SequenceEndEvent


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _events(text: str, parser: _Loader) -> Iterator[Any]:
    """The events of ``text`` (each a ``yaml.Event``). Typed Any: :func:`_read` tells the
    common events apart by their exact class, without an isinstance chain, and a type
    checker does not narrow on that."""
    loader = parser(text)
    try:
        while loader.check_event():
            yield loader.get_event()
    finally:
        loader.dispose()


def read_source(path: str | os.PathLike[str]) -> tuple[bytes | None, Diagnostic | None]:
    """The bytes of the definition file at ``path``, or the diagnostic that refuses it.

    The file is looked at before anything is read from it: a FIFO, a device (such as
    ``/dev/zero``) or a socket is refused with ``not-a-file``, a file larger
    than :data:`MAX_BYTES` with ``yaml-too-large``, and at most ``MAX_BYTES + 1`` bytes are
    ever read (a file that grows while it is read is refused too). Opening never blocks
    on a FIFO. Raises :class:`OSError` only when the path cannot be opened at all (it does
    not exist, may not be read, or is a directory).
    """
    name = os.fspath(path)
    info = os.stat(name)
    if stat.S_ISDIR(info.st_mode):  # a usage mistake, as a missing file is
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), name)
    refused = _not_a_file(info, name)  # before opening: a socket cannot be opened
    if refused is not None:
        return None, refused
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)  # no CRLF translation on Windows
    for name_of_flag in ("O_NONBLOCK", "O_NOCTTY", "O_CLOEXEC"):
        flags |= getattr(os, name_of_flag, 0)
    fd = os.open(name, flags)
    try:
        info = os.fstat(fd)  # what was opened, should the path have changed meanwhile
        refused = _not_a_file(info, name)
        if refused is not None:
            return None, refused
        if info.st_size > MAX_BYTES:
            return None, _too_large(info.st_size, name)
        chunks: list[bytes] = []
        left = MAX_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_BYTES:
        return None, _too_large(len(data), name, more=True)
    return data, None


def _not_a_file(info: os.stat_result, path: str) -> Diagnostic | None:
    if stat.S_ISREG(info.st_mode):
        return None
    message = f"{_file_kind(info.st_mode)} is not a definition file; refusing to read it"
    return Diagnostic("not-a-file", ERROR, message, path, 1, 1)


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"  # pragma: no cover - no other kinds on POSIX


def _too_large(size: int, path: str, *, more: bool = False) -> Diagnostic:
    shown = f"more than {MAX_BYTES:,}" if more else f"{size:,}"
    return Diagnostic(
        "yaml-too-large",
        ERROR,
        f"the file is {shown} bytes; definition files are limited to {MAX_BYTES:,}",
        path,
        1,
        1,
    )


class _LibyamlNestingLimit(Exception):
    """libyaml's scanner refused a nesting depth (1,000 levels in the libyaml of PyYAML
    6.0.4) before our own, lower bound was reached; at ``index`` (line, column)."""

    def __init__(self, index: int, line: int, column: int, after: int, depth: int) -> None:
        super().__init__(index)
        self.index, self.line, self.column = index, line, column
        self.after = after  # where the last event libyaml did yield ends
        self.depth = depth  # how deep the builder was there


def read_yaml(source: str | bytes, path: str = "<string>") -> tuple[YamlDocument, list[Diagnostic]]:
    """Read one YAML document. Problems come back as diagnostics, never as exceptions.

    When a problem stops reading, ``document.data`` is ``None``.
    """
    size = len(source)
    if isinstance(source, str) and size * 4 > MAX_BYTES:
        size = len(source.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        return YamlDocument(data=None), [_too_large(size, path)]
    if isinstance(source, bytes):
        try:
            text = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = source.count(b"\n", 0, exc.start) + 1
            col = exc.start - (source.rfind(b"\n", 0, exc.start) + 1) + 1
            message = "the file is not UTF-8 text"
            return YamlDocument(data=None), [
                Diagnostic("yaml-syntax", ERROR, message, path, line, col)
            ]
    else:
        text = source
    try:
        return _read(text, path, _Parser)
    except _LibyamlNestingLimit as limit:
        # The C scanner looks ahead in flow collections, so it can refuse a deep file
        # before the builder has seen the node that crosses MAX_DEPTH. That node stands
        # between the last event libyaml yielded and the place where it gave up: a scan
        # of the flow brackets there finds it. Should the scan not find it, the
        # pure-Python parser (which yields events as it goes) reads the text again, up to
        # where libyaml gave up, and reaches our bound at its own node.
        at = _flow_crossing(text, limit.after, limit.index + 1, limit.depth)
        if at is not None:
            line = text.count("\n", 0, at) + 1
            column = at - (text.rfind("\n", 0, at) + 1) + 1
            message = f"collections are nested deeper than {MAX_DEPTH} levels"
            return YamlDocument(data=None), [
                Diagnostic("yaml-too-large", ERROR, message, path, line, column)
            ]
        document, diagnostics = _read(text[: limit.index + 1], path, _PurePython)
        if not any(d.code == "yaml-too-large" for d in diagnostics):  # pragma: no cover
            message = f"collections are nested deeper than {MAX_DEPTH} levels"
            return YamlDocument(data=None), [
                Diagnostic("yaml-too-large", ERROR, message, path, limit.line, limit.column)
            ]
        return document, diagnostics


def _read(text: str, path: str, parser: _Loader) -> tuple[YamlDocument, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    doc = YamlDocument(data=None)

    def fail(code: str, message: str, mark: Mark) -> tuple[YamlDocument, list[Diagnostic]]:
        diagnostics.append(Diagnostic(code, ERROR, message, path, mark.line, mark.column))
        return YamlDocument(data=None), diagnostics

    builder = _Builder(doc, diagnostics, path)
    documents = 0
    last: yaml.Event | None = None  # the last event read
    try:
        scalar, end = builder.scalar, builder.end
        for ev in _events(text, parser):
            last = ev
            kind = type(ev)
            if kind is _SCALAR:  # the common events first, without the isinstance chain
                m = ev.start_mark
                scalar(ev, (m.line + 1, m.column + 1))
                continue
            if kind is _MAPPING_END or kind is _SEQUENCE_END:
                end()
                continue
            mark = _mark(ev.start_mark)
            pos = (mark.line, mark.column)
            if isinstance(ev, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    return fail("schema", "a definition file holds exactly one YAML document", mark)
            elif isinstance(ev, yaml.ScalarEvent):
                builder.scalar(ev, pos)
            elif isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                is_map = isinstance(ev, yaml.MappingStartEvent)
                if ev.tag is not None and not ev.implicit:
                    expected = _TAG + ("map" if is_map else "seq")
                    if ev.tag != expected:
                        builder.error("yaml-tag", f"unsupported YAML tag {_short_tag(ev.tag)}", pos)
                builder.start({} if is_map else [], ev.anchor, pos)
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                builder.end()
            elif isinstance(ev, yaml.AliasEvent):
                builder.alias(ev.anchor or "", pos)
    except YamlProblem as problem:
        return fail(problem.code, problem.message, problem.mark)
    except yaml.MarkedYAMLError as exc:
        mark = _mark(exc.problem_mark or exc.context_mark)
        if _is_nesting_limit(exc):
            if parser is not _PurePython:
                index = getattr(exc.problem_mark, "index", None)
                at = len(text) if not isinstance(index, int) else index
                end_mark = last.end_mark if last is not None else None
                after = end_mark.index if end_mark is not None else 0
                raise _LibyamlNestingLimit(
                    at, mark.line, mark.column, after, len(builder.stack)
                ) from None
            return fail(  # pragma: no cover - the pure-Python parser has no such limit
                "yaml-too-large", f"collections are nested deeper than {MAX_DEPTH} levels", mark
            )
        message = exc.problem or "invalid YAML"
        if exc.context:
            message = f"{message} ({exc.context})"
        return fail("yaml-syntax", message, mark)
    except yaml.YAMLError as exc:  # reader errors (control characters, bad encoding)
        mark = _mark(getattr(exc, "problem_mark", None))
        line, column = _reader_position(exc, text)
        if line:
            mark = Mark(line, column)
        return fail("yaml-syntax", _reader_message(exc), mark)
    except UnicodeError:  # lone surrogates in a str
        return fail("yaml-syntax", "the text is not valid Unicode (a lone surrogate)", Mark(1, 1))
    except (RecursionError, MemoryError):  # pragma: no cover - bounded above
        return fail("yaml-too-large", "the document is too complex to read", Mark(1, 1))
    return doc, diagnostics


_FLOW_SIGNIFICANT = re.compile(r"[\[\]{}'\"#]")


def _flow_crossing(text: str, start: int, end: int, depth: int) -> int | None:
    """The index of the flow bracket in ``text[start:end]`` that opens level
    ``MAX_DEPTH + 1``, counting from ``depth``; quoted scalars and comments are passed
    over. None when there is none, or when the text there is not flow syntax alone: only
    white space and a key's ``:`` may stand before the first bracket (so no block
    collection can open in the part scanned)."""
    first = _FLOW_SIGNIFICANT.search(text, start, end)
    if (
        first is None
        or text[start : first.start()].strip(" \t\r\n:")
        or text[first.start()] not in "[{"
    ):
        return None
    i = start
    while True:
        found = _FLOW_SIGNIFICANT.search(text, i, end)
        if found is None:
            return None
        i = found.start()
        c = text[i]
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return i
        elif c in "]}":
            depth -= 1
        elif c == "#":
            if i > 0 and text[i - 1] not in " \t\n":
                return None  # a # inside a plain scalar: not plain flow syntax
            newline = text.find("\n", i, end)
            if newline < 0:
                return None
            i = newline
        else:  # a quoted scalar: '' escapes a single quote, \ escapes in double quotes
            j = i + 1
            while True:
                j = text.find(c, j, end)
                if j < 0:
                    return None
                if c == "'" and text.startswith("''", j):
                    j += 2
                    continue
                if c == '"':
                    backslashes = len(text[i + 1 : j]) - len(text[i + 1 : j].rstrip("\\"))
                    if backslashes % 2:
                        j += 1
                        continue
                break
            i = j
        i += 1


def _is_nesting_limit(exc: yaml.MarkedYAMLError) -> bool:
    """libyaml's "exceeded maximum nesting depth" (flow or block level)."""
    return "nesting depth" in (exc.problem or "")


def _reader_position(exc: yaml.YAMLError, text: str) -> tuple[int, int]:
    position = getattr(exc, "position", None)
    if not isinstance(position, int):
        return 0, 0
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column


def _reader_message(exc: yaml.YAMLError) -> str:
    reason = getattr(exc, "reason", None)
    character = getattr(exc, "character", None)
    if reason and character is not None:
        shown = chr(character) if isinstance(character, int) else character
        return f"the character {shown!r} is not allowed in a YAML file ({reason})"
    return str(exc).splitlines()[0] if str(exc) else "invalid YAML"
