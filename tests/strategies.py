"""Hypothesis strategies for random coachflow definitions.

Imported by the tests as ``from strategies import ...`` (pytest puts ``tests/`` on
``sys.path`` because the directory has no ``__init__.py``).

* :func:`valid_definitions` builds the plain data (what ``yaml.safe_load`` would give)
  of a random *valid* definition: roles, typed facts, consents, predicates, a random
  state graph in which every state is reachable and every non-final state reaches a
  final state, and random well-typed guards, inputs and effects. Every declared role,
  fact and consent is used, so the definition loads without a single diagnostic.
* :func:`corrupted_definitions` takes a valid definition, applies exactly one
  corruption and gives a :class:`Corruption`: the YAML text, the diagnostic code the
  validator must report, and the line and column it must report it at. The location
  is computed with PyYAML's own composer, independently of coachflow's reader.
* :func:`yaml_styles` gives keyword arguments for :func:`dump` (PyYAML's safe dumper,
  pure Python or libyaml; block, flow or canonical; several widths and indents), so the
  reader sees the same data written many ways.
"""

from __future__ import annotations

import keyword
import re
from datetime import date
from typing import Any, NamedTuple

import yaml
from hypothesis import strategies as st

from coachflow.definition.expressions import RESERVED_NAMES

Data = dict[str, Any]

FACT_TYPES = ("bool", "int", "str", "date", "enum")
ORDER_OPS = ("<", "<=", ">", ">=")
EQ_OPS = ("==", "!=")

# --- names and texts ---------------------------------------------------------------------

_LOWER = "abcdefghijklmnopqrstuvwxyz"
TRICKY_IDENTS = (
    *("true", "false", "null", "none", "yes", "no", "on", "off", "y", "n", "nan", "inf"),
    *("e1", "x0", "date", "consent", "input", "done", "count", "if", "or", "not", "class"),
    *("type", "match", "case", "len", "print", "self", "from", "to", "by", "when", "set"),
)
"""Identifiers that YAML or Python may take for something else."""

IDENT = st.sampled_from(TRICKY_IDENTS) | st.builds(
    str.__add__, st.sampled_from(_LOWER), st.text(alphabet=_LOWER + "0123456789_", max_size=9)
)
"""An identifier: roles, states, events, enum values."""

EXPR_NAME = IDENT.filter(lambda n: n not in RESERVED_NAMES and not keyword.iskeyword(n))
"""A name that may appear in an expression: facts and predicates."""

INPUT_NAME = IDENT.filter(lambda n: not keyword.iskeyword(n))

DEFINITION_ID = st.builds(
    str.__add__, st.sampled_from(_LOWER), st.text(alphabet=_LOWER + "0123456789_-", max_size=15)
)
LANGUAGES = ("nl", "en", "de", "fr", "pap", "zh-Hant", "no", "on")

# Strings that PyYAML's dumper (YAML 1.1) writes as plain scalars although coachflow's
# reader (YAML 1.2 core schema) reads them as numbers: dump() quotes them.
_NUMBER_TO_COACHFLOW = re.compile(
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+"
)

TRICKY_TEXTS = (
    *("", " ", "yes", "no", "on", "off", "Off", "y", "n", "null", "Null", "~", "true", "False"),
    *("00", "0b101", "1_000", "12:30", "2026-09-01", "2026-09-01T10:00:00", ".inf", ".nan"),
    *("1e5", "09", "0o17", "-.5", "+.5", "1.0e5", "0x1F", "-0"),
    *("- item", "key: value", "# not a comment", "'single'", '"double"', "a\\b", "&anchor"),
    *("*alias", "!tag", "!!python/object:os.system", "%TAG", "@at", "`tick`", "[1, 2]"),
    *("{a: 1}", "<<", "=", "?", "multi\nline\n", "tab\there", " leading and trailing "),
    *("Coachingstraject leerkracht", "Leerkracht/docent", "ümlaut ĳ 中文 😀"),
    *("\u2028line separator", "\u2029paragraph", "\x85next line", "\ufeffbom"),
)
"""Texts that YAML may take for something else, or that are hard to write."""

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LAYOUT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

PLAIN_TEXT = st.sampled_from(
    [t for t in TRICKY_TEXTS if not _CONTROL_BUT_LAYOUT.search(t)]
) | st.text(st.characters(exclude_categories=["Cs", "Cc"], include_characters="\n\t"), max_size=20)
"""A multi-line human text as a plain string (a description, a string default): no control
character but tab and line feed."""
LINE_TEXT = st.sampled_from([t for t in TRICKY_TEXTS if not _CONTROL.search(t)]) | st.text(
    st.characters(exclude_categories=["Cs", "Cc"]), max_size=20
)
"""A one-line human text (a title): no control character at all."""

TEXT = PLAIN_TEXT | st.dictionaries(st.sampled_from(LANGUAGES), PLAIN_TEXT, max_size=3)
"""A human text: a string or a mapping of language code to string."""
TITLE = LINE_TEXT | st.dictionaries(st.sampled_from(LANGUAGES), LINE_TEXT, max_size=3)
"""A title: one line in every language."""

GUARD_TEXT = (st.sampled_from(TRICKY_TEXTS) | st.text(max_size=4)).filter(lambda t: len(t) <= 4)
"""A string literal in an expression (short: expressions are limited to 2,000 characters)."""

SMALL_INT = st.integers(-20, 20)
INT = SMALL_INT | st.integers(-(2**63), 2**63 - 1)
"""An int literal: every integer of a definition fits a signed 64-bit integer."""


def bounded_ints(low: int | None, high: int | None) -> st.SearchStrategy[int]:
    """Ints from ``low`` to ``high``; a missing bound is the signed 64-bit one."""
    return st.integers(-(2**63) if low is None else low, 2**63 - 1 if high is None else high)


DATES = st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31))


def pick(draw: st.DrawFn, items: Any) -> Any:
    """One of ``items`` (cheaper than a new ``sampled_from`` strategy in every draw)."""
    items = tuple(items)
    return items[draw(st.integers(0, len(items) - 1))]


def _described(draw: st.DrawFn, item: Data) -> Data:
    """Add an optional title and description."""
    if draw(st.integers(0, 2)) == 0:
        item["title"] = draw(TITLE)
    if draw(st.integers(0, 7)) == 0:
        item["description"] = draw(TEXT)
    return item


# --- typed facts and inputs ------------------------------------------------------------------


@st.composite
def typed_specs(draw: st.DrawFn, *, is_input: bool = False) -> Data:
    """A fact spec (or, with ``is_input``, an input spec): type, default, bounds."""
    kind = pick(draw, FACT_TYPES)
    spec: Data = {"type": kind}
    has_default = draw(st.booleans())
    if kind == "bool" and has_default:
        spec["default"] = draw(st.booleans())
    elif kind == "int":
        low = draw(st.none() | SMALL_INT)
        high = draw(
            st.none() | st.integers(min_value=low if low is not None else -20, max_value=30)
        )
        if low is not None:
            spec["min"] = low
        if high is not None:
            spec["max"] = high
        if has_default:
            spec["default"] = draw(bounded_ints(low, high))
    elif kind == "str" and has_default:
        spec["default"] = draw(PLAIN_TEXT)
    elif kind == "date" and has_default:
        day = draw(DATES)
        spec["default"] = day if draw(st.booleans()) else day.isoformat()
    elif kind == "enum":
        spec["values"] = draw(st.lists(IDENT, min_size=1, max_size=4, unique=True))
        if has_default:
            spec["default"] = pick(draw, spec["values"])
    if is_input and draw(st.booleans()):
        spec["required"] = draw(st.booleans())
    return _described(draw, spec)


# --- expressions ---------------------------------------------------------------------------


class Env:
    """What the expressions of one transition may refer to, and what they did use."""

    def __init__(
        self,
        facts: dict[str, Data],
        consents: list[str],
        predicates: list[str],
        used_facts: set[str],
        used_consents: set[str],
        inputs: dict[str, Data] | None = None,
    ) -> None:
        self.facts = facts
        self.consents = consents
        self.predicates = predicates
        self.used_facts = used_facts
        self.used_consents = used_consents
        self.inputs = inputs or {}

    def operands(self) -> list[tuple[str, Data, str | None]]:
        """``(expression text, spec, fact name or None)`` of every typed operand."""
        out: list[tuple[str, Data, str | None]] = [(n, s, n) for n, s in self.facts.items()]
        out += [(f"input.{n}", s, None) for n, s in self.inputs.items()]
        return out

    def use(self, fact: str | None) -> None:
        if fact is not None:
            self.used_facts.add(fact)


def _int_lit(draw: st.DrawFn) -> str:
    return str(draw(INT))


def _str_lit(draw: st.DrawFn) -> str:
    return repr(draw(GUARD_TEXT))


def _date_lit(draw: st.DrawFn) -> str:
    return f'date("{draw(DATES).isoformat()}")'


def _literal_list(draw: st.DrawFn, make: Any) -> str:
    n = draw(st.integers(0, 3))
    return "[" + ", ".join(make(draw) for _ in range(n)) + "]"


def _operand_atom(draw: st.DrawFn, text: str, spec: Data) -> str:
    """A bool expression about one typed operand."""
    kind = spec["type"]
    null = [f"{text} is None", f"{text} is not None", f"None is {text}"]
    if kind == "bool":
        forms = [text, f"not {text}", f"{text} == True", f"False != {text}", *null]
        return pick(draw, forms)
    if kind == "int":
        op = pick(draw, ORDER_OPS + EQ_OPS)
        k, k2 = _int_lit(draw), _int_lit(draw)
        forms = [
            f"{text} {op} {k}",
            f"{k} {op} {text}",
            f"{text} + {k2} {op} {k}",
            f"{text} - 1 {op} {k}",
            f"-{text} {op} {k}",
            f"{k} <= {text} < {k2}",
            f"{text} in {_literal_list(draw, _int_lit)}",
            f"{text} not in {_literal_list(draw, _int_lit)}",
            *null,
        ]
        return pick(draw, forms)
    if kind == "str":
        op = pick(draw, ORDER_OPS + EQ_OPS)
        s = _str_lit(draw)
        forms = [
            f"{text} {op} {s}",
            f"{s} {op} {text}",
            f"{text} in {_literal_list(draw, _str_lit)}",
            f"{text} not in {_literal_list(draw, _str_lit)}",
            *null,
        ]
        return pick(draw, forms)
    if kind == "date":
        op = pick(draw, ORDER_OPS + EQ_OPS)
        d = _date_lit(draw)
        forms = [
            f"{text} {op} {d}",
            f"{d} {op} {text}",
            f"{text} in {_literal_list(draw, _date_lit)}",
            *null,
        ]
        return pick(draw, forms)
    values = spec["values"]

    def value(draw: st.DrawFn) -> str:
        return repr(pick(draw, values))

    op = pick(draw, EQ_OPS)
    forms = [
        f"{text} {op} {value(draw)}",
        f"{value(draw)} {op} {text}",
        f"{text} in {_literal_list(draw, value)}",
        f"{text} not in {_literal_list(draw, value)}",
        *null,
    ]
    return pick(draw, forms)


def _pair_atom(draw: st.DrawFn, env: Env) -> str | None:
    """A comparison of two operands of the same type, when there are any."""
    operands = env.operands()
    pairs = [
        (a, b)
        for a in operands
        for b in operands
        if a[1]["type"] == b[1]["type"]
        and (a[1]["type"] != "enum" or set(a[1]["values"]) & set(b[1]["values"]))
    ]
    if not pairs:
        return None
    (ta, sa, fa), (tb, _, fb) = pick(draw, pairs)
    env.use(fa)
    env.use(fb)
    kind = sa["type"]
    ops = ORDER_OPS + EQ_OPS if kind in ("int", "str", "date") else EQ_OPS
    op = pick(draw, ops)
    if kind == "int" and draw(st.booleans()):
        return f"{ta} + {tb} {op} {_int_lit(draw)}"
    return f"{ta} {op} {tb}"


def _atom(draw: st.DrawFn, env: Env) -> str:
    kinds = ["constant"]
    if env.operands():
        kinds += ["operand", "operand", "operand", "pair"]
    if env.consents:
        kinds += ["consent"]
    if env.predicates:
        kinds += ["predicate"]
    kind = pick(draw, kinds)
    if kind == "operand":
        text, spec, fact = pick(draw, env.operands())
        env.use(fact)
        return _operand_atom(draw, text, spec)
    if kind == "pair":
        atom = _pair_atom(draw, env)
        if atom is not None:
            return atom
    if kind == "consent":
        name = pick(draw, env.consents)
        env.used_consents.add(name)
        return pick(draw, [f"consent.{name}", f"not consent.{name}"])
    if kind == "predicate":
        return f"{pick(draw, env.predicates)}()"
    return pick(draw, ["True", "False"])


def bool_expression(draw: st.DrawFn, env: Env, depth: int = 2) -> str:
    """A well-typed bool expression over ``env``."""
    if depth <= 0 or draw(st.integers(0, 2)) > 0:
        return _atom(draw, env)
    kind = pick(draw, ["and", "or", "not"])
    if kind == "not":
        return f"not ({bool_expression(draw, env, depth - 1)})"
    parts = [bool_expression(draw, env, depth - 1) for _ in range(draw(st.integers(2, 3)))]
    return f" {kind} ".join(f"({p})" for p in parts)


def effect_value(draw: st.DrawFn, env: Env, fact: str) -> Any:
    """A value for ``set: {fact: ...}`` of the fact's type: a literal or an expression."""
    spec = env.facts[fact]
    kind = spec["type"]
    same = [
        (t, f)
        for t, s, f in env.operands()
        if s["type"] == kind and (kind != "enum" or set(s["values"]) <= set(spec["values"]))
    ]
    options: list[str] = ["null"]
    if same:
        options.append("same")
    if kind == "bool":
        options += ["literal", "expression"]
    elif kind == "int":
        options += ["literal", "arith"]
    elif kind == "enum":
        options += ["bare", "quoted"]
    elif kind == "str":
        options += ["quoted"]
    elif kind == "date":
        options += ["date"]
    choice = pick(draw, options)
    if choice == "null":
        return None
    if choice == "same":
        text, source = pick(draw, same)
        env.use(source)
        return text
    if choice == "literal" and kind == "bool":
        return draw(st.booleans())
    if choice == "expression":
        return bool_expression(draw, env, 1)
    if choice == "literal":
        low, high = spec.get("min"), spec.get("max")
        return draw(bounded_ints(low, high))
    if choice == "arith":
        ints = [(t, f) for t, s, f in env.operands() if s["type"] == "int"]
        text, source = pick(draw, ints)
        env.use(source)
        return f"{text} {pick(draw, ['+', '-'])} {draw(st.integers(0, 3))}"
    if choice == "bare":
        return pick(draw, spec["values"])
    if choice == "quoted" and kind == "enum":
        return repr(pick(draw, spec["values"]))
    if choice == "quoted":
        return _str_lit(draw)
    return _date_lit(draw)


# --- the state graph -------------------------------------------------------------------------


def _sources(transition: Data, states: Data) -> list[str]:
    source = transition["from"]
    if source == "*":
        return [n for n, s in states.items() if not s.get("final")]
    if isinstance(source, str):
        return [source]
    return list(source)


@st.composite
def state_graphs(draw: st.DrawFn) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """``(non-final states, final states, edges)``: the first non-final state is the
    initial one; every state is reachable from it, every non-final state has an
    outgoing edge and reaches a final state, and no edge leaves a final state."""
    names = draw(st.lists(IDENT, min_size=2, max_size=15, unique=True))
    n_final = draw(st.integers(1, len(names) - 1))
    nonfinal, final = names[n_final:], names[:n_final]
    edges: list[tuple[str, str]] = []
    # a spanning tree from the initial state over the non-final states...
    for i in range(1, len(nonfinal)):
        edges.append((pick(draw, nonfinal[:i]), nonfinal[i]))
    # ... reaching every final state ...
    for f in final:
        edges.append((pick(draw, nonfinal), f))
    # ... and from every non-final state a way out to a final state
    good = list(final)
    for s in draw(st.permutations(nonfinal)):
        edges.append((s, pick(draw, good)))
        good.append(s)
    # random extra edges (self-loops included)
    for _ in range(draw(st.integers(0, len(names)))):
        edges.append((pick(draw, nonfinal), pick(draw, names)))
    return nonfinal, final, draw(st.permutations(edges))


# --- whole definitions -----------------------------------------------------------------------


@st.composite
def valid_definitions(draw: st.DrawFn) -> Data:
    """The data of a random valid definition that gives no diagnostic at all."""
    roles = draw(st.lists(IDENT, min_size=1, max_size=4, unique=True))
    fact_names = draw(st.lists(EXPR_NAME, max_size=5, unique=True))
    facts = {name: draw(typed_specs()) for name in fact_names}
    consents = draw(st.lists(INPUT_NAME, max_size=2, unique=True))
    predicates = draw(st.lists(EXPR_NAME.filter(lambda n: n not in facts), max_size=2, unique=True))
    nonfinal, final, edges = draw(state_graphs())
    initial = nonfinal[0]

    states: Data = {}
    for name in draw(st.permutations(nonfinal + final)):
        state = _described(draw, {})
        if name in final:
            state["final"] = True
        elif draw(st.integers(0, 5)) == 0:
            state["final"] = False
        states[name] = state

    # edges -> transitions (edges into the same state may share one transition)
    transitions: list[Data] = []
    for src, dst in edges:
        share = [
            t
            for t in transitions
            if t["to"] == dst and isinstance(t["from"], list) and src not in t["from"]
        ]
        if share and draw(st.booleans()):
            pick(draw, share)["from"].append(src)
        else:
            transitions.append({"from": [src], "to": dst})
    if draw(st.integers(0, 3)) == 0:  # a "withdraw from anywhere" transition
        transitions.append({"from": "*", "to": pick(draw, final)})
    for t in transitions:
        if isinstance(t["from"], list) and len(t["from"]) == 1 and draw(st.booleans()):
            t["from"] = t["from"][0]

    events = draw(st.lists(IDENT, min_size=1, max_size=len(transitions), unique=True))
    used_facts: set[str] = set()
    used_consents: set[str] = set()
    envs: list[Env] = []
    for t in transitions:
        t["event"] = pick(draw, events)
        t["by"] = draw(st.lists(st.sampled_from(roles), min_size=1, max_size=3, unique=True))
        inputs = {
            name: draw(typed_specs(is_input=True))
            for name in draw(st.lists(INPUT_NAME, max_size=2, unique=True))
        }
        if inputs or draw(st.integers(0, 5)) == 0:
            t["input"] = inputs
        env = Env(facts, consents, predicates, used_facts, used_consents, inputs)
        envs.append(env)
        if draw(st.booleans()):
            t["when"] = bool_expression(draw, env)
        targets = draw(st.lists(st.sampled_from(fact_names), unique=True)) if facts else []
        if targets:
            t["set"] = {f: effect_value(draw, env, f) for f in targets}
            used_facts.update(targets)  # setting a fact uses it
        _described(draw, t)

    # the same event leaving the same state twice: every one of them needs a guard
    seen: dict[tuple[str, str], list[int]] = {}
    for i, t in enumerate(transitions):
        for src in _sources(t, states):
            seen.setdefault((t["event"], src), []).append(i)
    for group in seen.values():
        for i in group if len(group) > 1 else ():
            if "when" not in transitions[i]:
                transitions[i]["when"] = bool_expression(draw, envs[i])

    # every declaration used
    for fact in fact_names:
        if fact not in used_facts:
            i = draw(st.integers(0, len(transitions) - 1))
            transitions[i].setdefault("set", {})[fact] = effect_value(draw, envs[i], fact)
            used_facts.add(fact)
    for consent in consents:
        if consent not in used_consents:
            t = pick(draw, transitions)
            t["when"] = (
                f"({t['when']}) or consent.{consent}" if "when" in t else f"consent.{consent}"
            )
    consent_specs = {c: _described(draw, {"granted_by": pick(draw, roles)}) for c in consents}
    used_roles = {r for t in transitions for r in t["by"]}
    used_roles |= {c["granted_by"] for c in consent_specs.values()}
    for role in roles:
        if role not in used_roles:
            pick(draw, transitions)["by"].append(role)

    data: Data = {
        "coachflow": 1,
        "id": draw(DEFINITION_ID),
        "version": draw(st.integers(1, 2**31 - 1)),
        "roles": {r: _described(draw, {}) for r in roles},
        "initial": initial,
        "states": states,
        "transitions": [_key_order(draw, t) for t in transitions],
    }
    if draw(st.booleans()):
        data["title"] = draw(TITLE)
    if draw(st.integers(0, 3)) == 0:
        data["description"] = draw(TEXT)
    if facts or draw(st.integers(0, 3)) == 0:
        data["facts"] = facts
    if consents or draw(st.integers(0, 3)) == 0:
        data["consents"] = consent_specs
    if predicates or draw(st.integers(0, 3)) == 0:
        data["predicates"] = predicates
    return _key_order(draw, data)


_TRANSITION_KEYS = ("event", "title", "description", "from", "to", "by", "when", "input", "set")


def _key_order(draw: st.DrawFn, item: Data) -> Data:
    """The same mapping, in the usual key order or a random one."""
    if draw(st.booleans()):
        return {k: item[k] for k in draw(st.permutations(list(item)))}
    if "event" in item:
        return {k: item[k] for k in _TRANSITION_KEYS if k in item}
    return item


# --- writing YAML ------------------------------------------------------------------------


def _quoting(base: Any) -> Any:
    """``base`` (a PyYAML safe dumper) writing in double quotes the strings that
    coachflow's reader would not read back as the same strings."""

    def represent_str(dumper: Any, value: str) -> Any:
        quote = _NUMBER_TO_COACHFLOW.fullmatch(value) or "\x85" in value
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if quote else None)

    dumper = type(f"Quoting{base.__name__}", (base,), {})
    dumper.add_representer(str, represent_str)
    return dumper


DUMPERS = (_quoting(yaml.SafeDumper), _quoting(getattr(yaml, "CSafeDumper", yaml.SafeDumper)))
"""PyYAML's safe dumper, pure Python and libyaml."""


@st.composite
def yaml_styles(draw: st.DrawFn) -> Data:
    """Keyword arguments for :func:`dump`: one of :data:`DUMPERS` in one of its styles."""
    style: Data = {"Dumper": pick(draw, DUMPERS), "allow_unicode": draw(st.booleans())}
    flow = pick(draw, ["block", "flow", "mixed", "canonical"])
    if flow == "canonical":
        style["canonical"] = True
    else:
        style["default_flow_style"] = {"block": False, "flow": True, "mixed": None}[flow]
    # not narrower: when the indentation nears the width, PyYAML's emitter folds a
    # double-quoted scalar into an escaped line that reads back as a backslash
    style["width"] = pick(draw, [40, 80, 10**6])
    style["indent"] = pick(draw, [2, 4])
    style["explicit_start"] = draw(st.booleans())
    return style


def _plain_dates(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_dates(v) for v in value]
    return value


def dump(data: Data, style: Data | None = None) -> str:
    """``data`` as YAML text, block style unless ``style`` (from :func:`yaml_styles`)
    says otherwise. Under ``canonical``, dates are written as strings (PyYAML would tag
    them ``!!timestamp``, which coachflow rejects)."""
    style = {"Dumper": DUMPERS[0], "default_flow_style": False, "width": 10**6, **(style or {})}
    if style.get("canonical"):
        data = _plain_dates(data)
    return str(yaml.dump(data, sort_keys=False, **style))


def locate(text: str, path: tuple[Any, ...], *, key: bool = False) -> tuple[int, int]:
    """The 1-based line and column of the node at ``path`` (or of its key), found with
    PyYAML's own composer."""
    node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    key_node: Any = None
    for comp in path:
        if isinstance(node, yaml.MappingNode):
            key_node, node = next((k, v) for k, v in node.value if k.value == comp)
        else:
            key_node, node = None, node.value[comp]
    mark = (key_node if key else node).start_mark
    return mark.line + 1, mark.column + 1


# --- corruptions -------------------------------------------------------------------------


class Corruption(NamedTuple):
    """One corrupted definition: its ``text``, the ``code`` it must produce and the
    ``line`` and ``column`` it must produce it at. With ``exact``, ``code`` must be the
    only code reported (the corruption breaks nothing else)."""

    text: str
    code: str
    line: int
    column: int
    kind: str
    exact: bool


CORRUPTIONS = (
    "dangling-target",
    "dead-end",
    "unreachable-state",
    "undeclared-fact",
    "type-mismatch",
    "duplicate-key",
    "forbidden-construct",
)

FORBIDDEN = (
    "[1, 2][0] == 1",
    "(lambda: True)()",
    "(lambda: True)",
    "[x for x in [1]] == [1]",
    "any(x for x in [True])",
    "{1: 2} == {}",
    "{1} == {1}",
    "().__class__ is None",
    '__import__("os").system("x") == 0',
    "consent.__dict__",
    "True if True else False",
    "2 * 3 == 6",
    "7 % 2 == 1",
    "2 ** 3 == 8",
    'f"{1}" == "1"',
    "(x := 1) == 1",
    "len([1], 2) == 1",
    'str(1) == "1"',
    "1.5 < 2",
    "...",
    'b"x" == b"x"',
    "~1 == 0",
    "__debug__",
    "some.thing",
)

NOT_A_VALUE = "zz_not_a_value"  # longer than any generated enum value

BAD_GUARDS = ("1 + 2", "'text'", "1 < 'x'", "None", 'date("2026-01-01") < 3')
BAD_GUARDS_ON: dict[str, tuple[str, ...]] = {
    "int": ("{} < 'x'", "{} == True", "{}", "{} + 'a' > 0"),
    "bool": ("{} > 1", "{} + 1 == 2", "{} in ['a']"),
    "enum": (f"{{}} == {NOT_A_VALUE!r}", "{} < 'a'", f"{{}} in [{NOT_A_VALUE!r}]"),
    "date": ("{} < 5", "{} == '2026-01-01'"),
    "str": ("{} > 3", "{}"),
}
BAD_EFFECTS: dict[str, tuple[Any, ...]] = {
    "int": (True, "'one'"),
    "bool": (5, "'yes'"),
    "enum": (repr(NOT_A_VALUE), 3),
    "str": (3, False),
    "date": (3, "'2026-01-01'"),
}


def _fresh(draw: st.DrawFn, taken: Any, base: Any = IDENT) -> str:
    return str(draw(base.filter(lambda n: n not in taken)))


def _add_to_guard(transition: Data, extra: str) -> None:
    when = transition.get("when")
    transition["when"] = f"({when}) and ({extra})" if when else extra


@st.composite
def corrupted_definitions(draw: st.DrawFn, kinds: tuple[str, ...] = CORRUPTIONS) -> Corruption:
    """A valid definition with exactly one thing broken: one of ``kinds`` (see
    :data:`CORRUPTIONS`)."""
    data = draw(valid_definitions())
    kind = pick(draw, kinds)
    if kind == "duplicate-key":
        return _duplicate_key(draw, data)
    style = draw(yaml_styles())
    at, key, code, exact = _corrupt(draw, data, kind)
    text = dump(data, style)
    return Corruption(text, code, *locate(text, at, key=key), kind, exact)


def _corrupt(draw: st.DrawFn, data: Data, kind: str) -> tuple[tuple[Any, ...], bool, str, bool]:
    """Break ``data`` in place; ``(path of the culprit, at its key?, code, exact?)``."""
    states: Data = data["states"]
    transitions: list[Data] = data["transitions"]
    facts: Data = data.get("facts", {})
    events = {t["event"] for t in transitions}
    role = pick(draw, list(data["roles"]))

    if kind == "dangling-target":
        i = draw(st.integers(0, len(transitions) - 1))
        transitions[i]["to"] = _fresh(draw, states)
        return ("transitions", i, "to"), False, "unknown-state", False

    if kind == "dead-end":
        victim = pick(draw, [n for n, s in states.items() if not s.get("final")])
        for t in transitions:  # "*" would also leave the new state below
            t["from"] = _sources(t, states) if t["from"] == "*" else t["from"]
        kept: list[Data] = []
        for t in transitions:
            sources = _sources(t, states)
            if victim in sources:
                sources.remove(victim)
                if not sources:
                    continue
                t["from"] = sources
            kept.append(t)
        if kept:
            data["transitions"] = kept
        else:  # every transition left the victim: lead into a new dead end instead
            victim = _fresh(draw, states)
            states[victim] = {}
            transitions.append(
                {"event": _fresh(draw, events), "from": data["initial"], "to": victim, "by": [role]}
            )
        return ("states", victim), True, "dead-end", False

    if kind == "unreachable-state":
        island = _fresh(draw, states)
        states[island] = {}
        final = pick(draw, [n for n, s in states.items() if s.get("final")])
        transitions.append(
            {"event": _fresh(draw, events), "from": island, "to": final, "by": [role]}
        )
        return ("states", island), True, "unreachable-state", True

    i = draw(st.integers(0, len(transitions) - 1))
    t = transitions[i]
    guard_path = ("transitions", i, "when")
    # facts this transition does not set yet: an effect on one of them breaks nothing else
    unset = [n for n in facts if n not in t.get("set", {})]

    if kind == "undeclared-fact":
        ghost = _fresh(draw, set(facts) | set(data.get("predicates", ())), EXPR_NAME)
        form = pick(draw, ["guard", "guard", "effect-key", "effect-value"])
        if form == "effect-key":
            t.setdefault("set", {})[ghost] = draw(SMALL_INT)
            return ("transitions", i, "set", ghost), True, "unknown-fact", True
        ints = [n for n in unset if facts[n]["type"] == "int"]
        if form == "effect-value" and ints:
            fact = pick(draw, ints)
            t.setdefault("set", {})[fact] = f"{ghost} + 1"
            return ("transitions", i, "set", fact), False, "unknown-fact", True
        forms = [ghost, f"not {ghost}", f"{ghost} > 3", f"{ghost} is None"]
        _add_to_guard(t, pick(draw, forms))
        return guard_path, False, "unknown-fact", True

    if kind == "type-mismatch":
        if unset and draw(st.booleans()):
            fact = pick(draw, unset)
            t.setdefault("set", {})[fact] = pick(draw, BAD_EFFECTS[facts[fact]["type"]])
            return ("transitions", i, "set", fact), False, "guard-type", True
        options = list(BAD_GUARDS)
        for name, spec in facts.items():
            options += [form.format(name) for form in BAD_GUARDS_ON[spec["type"]]]
        _add_to_guard(t, pick(draw, options))
        return guard_path, False, "guard-type", True

    assert kind == "forbidden-construct", kind
    _add_to_guard(t, pick(draw, FORBIDDEN))
    return guard_path, False, "guard-forbidden", True


def _duplicate_key(draw: st.DrawFn, data: Data) -> Corruption:
    """Repeat one single-line ``key: value`` entry of the block-style text right below
    itself, at the same indentation."""
    text = dump(data)
    lines = text.splitlines()
    candidates: list[tuple[int, int, str]] = []
    stack: list[Any] = [yaml.compose(text, Loader=yaml.SafeLoader)]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        if not isinstance(node, yaml.MappingNode):
            continue
        for k, v in node.value:
            stack.append(v)
            line, column, end = k.start_mark.line, k.start_mark.column, v.end_mark
            source = lines[line]
            if (
                end.line == line
                and source[:column].strip(" -") == ""
                and source[end.column :].strip() == ""
            ):
                candidates.append((line, column, source[column : end.column]))
    line, column, entry = pick(draw, sorted(candidates))
    lines.insert(line + 1, " " * column + entry)
    return Corruption(
        "\n".join(lines) + "\n", "duplicate-key", line + 2, column + 1, "duplicate-key", True
    )
