"""What coachflow keeps must fit: integer ranges, the rule for person and trajectory ids,
the characters a human text may hold, and how the CLI shows a character it must not print.

Standard library only: the errors, the engine, the model and the CLI import it cheaply.
"""

from __future__ import annotations

import io
import re
import reprlib
import unicodedata
from typing import Protocol

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
"""Every integer a trajectory holds (facts, inputs, the values of effects) fits a signed
64-bit integer, unless its spec declares a narrower range."""
VERSION_MAX = 2**31 - 1
"""The largest definition version (the SQL stores keep versions in a 32-bit column)."""
MAX_WEEK = 2000
"""The last week a definition may name (``weeks``, ``due: {week: N}``): about 38 years,
the horizon of the school-calendar arithmetic."""
MAX_DAYS = 7 * MAX_WEEK
"""The most days a ``due: {days: N}`` may count."""
MAX_ID_LENGTH = 200
"""The longest trajectory or person id (the SQL stores' columns hold 200 characters)."""


# --- integers --------------------------------------------------------------------------------


_LONG = 10**40


def _digits(value: int) -> str:
    return f"{int(value.bit_length() * 0.30103) + 1:,}"  # log10(2): about that many digits


def show_int(value: int) -> str:
    """``value`` as text; a long one is described instead (Python refuses to write an int of
    more than 4,300 digits, and nobody reads one)."""
    if -_LONG < value < _LONG:
        return str(value)
    return f"a {'negative ' if value < 0 else ''}number of about {_digits(value)} digits"


def int_phrase(value: int) -> str:
    """``the integer 123``, or ``an integer of about 2,397 digits``."""
    if -_LONG < value < _LONG:
        return f"the integer {value}"
    return f"{'a negative' if value < 0 else 'an'} integer of about {_digits(value)} digits"


class _Short(reprlib.Repr):
    def repr_int(self, x: int, level: int) -> str:
        return show_int(x)


_SHORT = _Short()
_SHORT.maxstring = 60
_SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 6


def shown(value: object) -> str:
    """A short ``repr`` of any value for a message: long texts and containers are cut,
    huge ints described (never an exception)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return show_int(value)
    try:
        return _SHORT.repr(value)
    except Exception:  # a __repr__ that raises: say what it is
        return f"a {type(value).__name__}"


# --- control characters in human texts -------------------------------------------------------

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""C0 and C1 control characters, and DEL."""
_CONTROL_BUT_LAYOUT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""The same, without tab and line feed (a multi-line text keeps those)."""
_CONTROL_NAMES = {
    0x00: "NUL",
    0x07: "BEL",
    0x08: "BS",
    0x09: "TAB",
    0x0A: "LF",
    0x0D: "CR",
    0x1B: "ESC",
    0x7F: "DEL",
    0x85: "NEL",
    0x9B: "CSI",
}


def control_character(text: str, *, multiline: bool = False) -> str | None:
    """The first C0/C1 control character (or DEL) in ``text``, described as
    ``U+001B (ESC)``; None when there is none. With ``multiline``, tab and line feed are
    allowed (descriptions, expressions)."""
    if text.isprintable():  # the common case, and a quick test
        return None
    match = (_CONTROL_BUT_LAYOUT if multiline else _CONTROL).search(text)
    if match is None:
        return None
    code = ord(match.group())
    name = _CONTROL_NAMES.get(code)
    return f"U+{code:04X}" + (f" ({name})" if name else "")


# --- person and trajectory ids ---------------------------------------------------------------

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ZERO_WIDTH = frozenset("\u180e\u200b\u200c\u200d\u2060\ufeff\u034f\u17b4\u17b5")
"""Zero-width characters, with the combining grapheme joiner and Khmer's invisible vowels."""
_VARIATION_SELECTORS = ((0xFE00, 0xFE0F), (0xE0100, 0xE01EF), (0x180B, 0x180D), (0x180F, 0x180F))
"""Variation selectors (standard, supplementary, Mongolian): ``ann`` and ``ann\ufe0f`` show
alike."""
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters and symbols that show as nothing (Hangul fillers, the blank Braille pattern)."""
_CATEGORY_WORDS = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character",
    "Cs": "a lone surrogate",
    "Co": "a private-use character",
    "Cn": "an unassigned code point",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Zs": "a space other than the ordinary space",
}


def _character_problem(c: str) -> str | None:
    if c in _BIDI:
        return "a bidirectional control character"
    if c in _ZERO_WIDTH:
        return "a zero-width character"
    code = ord(c)
    if any(low <= code <= high for low, high in _VARIATION_SELECTORS):
        return "a variation selector"
    if c in _FILLERS:
        return "an invisible filler character"
    if c == " ":
        return None
    return _CATEGORY_WORDS.get(unicodedata.category(c))


def id_problem(value: object) -> str | None:
    """Why ``value`` cannot be a person or trajectory id, or None when it can.

    An id is a string of 1 to :data:`MAX_ID_LENGTH` characters, in Unicode normal form
    NFC, that neither begins nor ends with whitespace and holds no character that shows
    as nothing or changes how others show: no control, formatting (zero-width,
    bidirectional), surrogate, private-use or unassigned character, no line or paragraph
    separator and no space other than the ordinary space (U+0020).
    """
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if not value:
        return "is empty"
    if len(value) > MAX_ID_LENGTH:
        return f"is {len(value):,} characters long; at most {MAX_ID_LENGTH} are allowed"
    if value.isascii() and value.isprintable():  # the common case: letters, digits, -_.@
        if value[0] == " " or value[-1] == " ":
            return "is only whitespace" if value.isspace() else "begins or ends with a space"
        return None
    if value.isspace():
        return "is only whitespace"
    if value[0].isspace() or value[-1].isspace():
        return "begins or ends with whitespace"
    if unicodedata.category(value[0]).startswith("M"):
        return f"begins with a combining mark (U+{ord(value[0]):04X}), which joins what precedes it"
    for c in value:
        problem = _character_problem(c)
        if problem is not None:
            return f"contains {problem} (U+{ord(c):04X})"
    if not unicodedata.is_normalized("NFC", value):
        return "is not in Unicode normal form NFC (normalize it first)"
    return None


def id_message(what: str, value: object, problem: str) -> str:
    """``person id 'ann\\u202e' contains a bidirectional control character (U+202E)``."""
    return f"{what} {shown(value)} {problem}" if isinstance(value, str) else f"{what} {problem}"


# --- showing text on a terminal --------------------------------------------------------------

_KEEP_FORMAT = frozenset("\u200c\u200d")
"""Joiners, which emoji sequences and several scripts need; they move nothing."""
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _unsafe(c: str) -> bool:
    return unicodedata.category(c) in _UNSAFE_CATEGORIES and c not in _KEEP_FORMAT


_SHORT_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(c: str) -> str:
    short = _SHORT_ESCAPES.get(c)
    if short is not None:
        return short
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def terminal_text(text: str) -> str:
    """``text`` with every character that could steer a terminal or hide in it - control
    characters (ESC, CR, line feed and tab too), formatting characters such as the
    bidirectional overrides, lone surrogates, line and paragraph separators - written as
    an escape (``\\x1b``, ``\\u202e``), so one value stays on its line and shows as what
    it is."""
    if text.isprintable():
        return text
    return "".join(_escape(c) if _unsafe(c) else c for c in text)


class _Stream(Protocol):
    """Where a :class:`TerminalWriter` writes (``sys.stdout``, ``sys.stderr``, a ``StringIO``)."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


class TerminalWriter(io.TextIOBase):
    """A text stream that writes through :func:`terminal_text` to ``stream``.

    With ``lines=False`` every ``write`` but a lone line feed is escaped whole, for output
    printed one value or line per ``print`` (a value holding a line feed stays on its line).
    With ``lines=True`` the line feeds in a write are kept and everything between them is
    escaped (messages, usage texts)."""

    def __init__(self, stream: _Stream, *, lines: bool = False) -> None:
        self._stream = stream
        self._lines = lines

    def write(self, text: str) -> int:
        if text == "\n":
            out = text
        elif self._lines:
            out = "\n".join(map(terminal_text, text.split("\n")))
        else:
            out = terminal_text(text)
        self._stream.write(out)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


def _json_escape(c: str) -> str:
    code = ord(c)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def terminal_json(text: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with the characters
    :func:`terminal_text` escapes written as ``\\uXXXX`` escapes. Outside its strings JSON
    text is ASCII, so the result is the same JSON value."""
    if text.isprintable():
        return text
    return "".join(_json_escape(c) if _unsafe(c) and c not in "\n" else c for c in text)
