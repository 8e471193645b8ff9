"""Guard and effect expressions: parsed with :mod:`ast`, checked against an allow-list,
type-checked against the declared facts and inputs, and compiled once into closures.

The text of an expression is never passed to ``eval`` or ``exec``. The language is a
small subset of Python expressions:

* literals: ints (signed 64-bit), strings, ``True``/``False``/``None``, lists of literals,
  and dates written ``date("2026-09-01")``;
* names of facts; ``consent.<name>``; ``input.<name>`` (only in the transition that
  declares that input);
* ``and``/``or``/``not``, comparisons (chains too), ``in``/``not in``, ``is None`` and
  ``is not None``, ``+``/``-`` on ints;
* ``len(x)`` of a list (an unset list has no length: ``None``);
* ``school_year(d)`` of a date: the year in which the Dutch school year holding ``d``
  starts (a school year runs from 1 August to 31 July);
* ``holiday_start("name")`` and ``holiday_end("name")``: the first and last day of the
  holiday of that name in the trajectory's school calendar (the first one that ends on
  or after the trajectory's start; see :meth:`coachflow.calendar.SchoolCalendar.holiday`),
  ``None`` when it has none;
* calls of declared predicates, with no arguments.

Unset facts are ``None``. An ordering comparison (``<`` ...) or ``in`` with an unset
side is false; ``+``/``-`` with an unset side gives ``None``.
"""

from __future__ import annotations

import ast
import operator
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from coachflow._bounds import INT64_MAX, INT64_MIN, int_phrase
from coachflow.calendar import school_year_of

if TYPE_CHECKING:
    from coachflow.definition.model import AnyFact, Value, Values

MAX_EXPRESSION_LENGTH = 2000
RESERVED_NAMES = frozenset(
    {
        "consent",
        "input",
        "done",
        "count",
        "date",
        "len",
        "true",
        "false",
        "none",
        "today",
        "week",
        "school_year",
        "holiday_start",
        "holiday_end",
    }
)
HOLIDAY_FUNCTIONS = ("holiday_start", "holiday_end")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class Type:
    """The static type of an expression."""

    kind: str  # bool | int | str | date | enum | none | list | any
    values: tuple[str, ...] = ()
    item: Type | None = None

    def __str__(self) -> str:
        if self.kind == "enum":
            return "enum(" + ", ".join(self.values) + ")"
        if self.kind == "list":
            return f"list of {self.item}"
        return self.kind


BOOL = Type("bool")
INT = Type("int")
STR = Type("str")
DATE = Type("date")
NONE = Type("none")
ANY = Type("any")  # after an error: fits everywhere, so one mistake gives one diagnostic


def type_of_spec(spec: AnyFact) -> Type:
    """The expression type of a fact or input spec."""
    if spec.type == "enum":
        return Type("enum", tuple(spec.values))
    if spec.type == "list":
        if spec.items == "enum":
            return Type("list", item=Type("enum", tuple(spec.values or ())))
        return Type("list", item=Type(spec.items))
    return Type(spec.type)


def fits(got: Type, want: Type) -> bool:
    """Whether every value of ``got`` is a value of ``want`` (``any`` fits everything)."""
    if "any" in (got.kind, want.kind) or got == want:
        return True
    if got.kind != want.kind:
        return False
    if got.kind == "enum":
        return set(got.values) <= set(want.values)
    if got.kind == "list":
        assert got.item is not None and want.item is not None
        return fits(got.item, want.item)
    return False


@dataclass(frozen=True, slots=True)
class ExprProblem:
    code: str  # guard-syntax | guard-forbidden | guard-type | unknown-*
    message: str


@dataclass(frozen=True, slots=True)
class Scope:
    """What an expression may refer to."""

    facts: Mapping[str, Type]
    consents: frozenset[str] = frozenset()
    predicates: frozenset[str] = frozenset()
    inputs: Mapping[str, Type] | None = None
    activities: frozenset[str] = frozenset()


class EvalContext:
    """What a compiled expression reads at run time: mappings it reads directly, and
    ``predicate(name)``, ``today()``, ``week()`` and ``holiday(name)``, which only some
    expressions call (a subclass may answer them from its own state instead of the
    callables given)."""

    __slots__ = ("_predicate", "_today", "_week", "consents", "counts", "facts", "input")

    def __init__(
        self,
        facts: Values,
        consents: Mapping[str, bool],
        input: Values | None = None,
        predicate: Callable[[str], bool] | None = None,
        counts: Mapping[str, int] | None = None,
        today: Callable[[], date] | None = None,
        week: Callable[[], int] | None = None,
    ) -> None:
        self.facts = facts
        self.consents = consents
        self.input = input if input is not None else {}
        self._predicate = predicate if predicate is not None else _no_predicate
        self.counts = counts if counts is not None else {}
        self._today = today if today is not None else _no_time
        self._week = week if week is not None else _no_week

    def predicate(self, name: str) -> bool:
        return self._predicate(name)

    def today(self) -> date:
        return self._today()

    def week(self) -> int:
        return self._week()

    def holiday(self, name: str) -> tuple[date, date] | None:
        """The first and last day of the holiday ``name`` of the trajectory's calendar
        (``None`` when it has none: this context knows no calendar)."""
        return None


def _no_time() -> date:
    raise LookupError("this expression reads 'today', but no clock was given")


def _no_week() -> int:
    raise LookupError("this expression reads 'week', but no clock was given")


def _no_predicate(name: str) -> bool:
    raise LookupError(f"predicate {name!r} is not registered")


Fn = Callable[[EvalContext], Any]
"""A compiled expression: its result has the type the checker gave it (:class:`Type`),
which Python's own types cannot say, so it is ``Any`` to them."""


@dataclass(frozen=True, slots=True)
class Compiled:
    """A checked, compiled expression."""

    source: str
    type: Type
    fn: Fn
    facts: frozenset[str] = frozenset()
    inputs: frozenset[str] = frozenset()
    consents: frozenset[str] = frozenset()
    predicates: frozenset[str] = frozenset()
    activities: frozenset[str] = frozenset()
    time: frozenset[str] = frozenset()
    """``today`` and/or ``week``, when the expression reads them."""
    holidays: frozenset[str] = frozenset()
    """The holiday names it reads (``holiday_start("kerstvakantie")``...)."""
    problems: tuple[ExprProblem, ...] = ()
    """Why the expression is invalid; an invalid expression's ``fn`` must not run."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def __call__(self, ctx: EvalContext) -> Any:
        return self.fn(ctx)


@dataclass(slots=True)
class _Checker:
    scope: Scope
    problems: list[ExprProblem] = field(default_factory=list)
    facts: set[str] = field(default_factory=set)
    inputs: set[str] = field(default_factory=set)
    consents: set[str] = field(default_factory=set)
    predicates: set[str] = field(default_factory=set)
    activities: set[str] = field(default_factory=set)
    time: set[str] = field(default_factory=set)
    holidays: set[str] = field(default_factory=set)
    left_node: ast.expr | None = None  # the left side of the comparison being checked

    def fail(self, code: str, message: str) -> tuple[Type, Fn]:
        self.problems.append(ExprProblem(code, message))
        return ANY, _const(None)

    def forbid(self, what: str) -> tuple[Type, Fn]:
        return self.fail("guard-forbidden", f"{what} not allowed in an expression")

    # -- dispatch --

    def visit(self, node: ast.AST) -> tuple[Type, Fn]:
        method = getattr(self, "v_" + type(node).__name__, None)
        if method is None:
            return self.forbid(_describe(node))
        result: tuple[Type, Fn] = method(node)
        return result

    def v_Expression(self, node: ast.Expression) -> tuple[Type, Fn]:
        return self.visit(node.body)

    def v_Constant(self, node: ast.Constant) -> tuple[Type, Fn]:
        v = node.value
        if isinstance(v, bool):
            return BOOL, _const(v)
        if isinstance(v, int):
            return self.integer(v)
        if isinstance(v, str):
            return STR, _const(v)
        if v is None:
            return NONE, _const(None)
        return self.forbid(f"{type(v).__name__} literals are")

    def v_Name(self, node: ast.Name) -> tuple[Type, Fn]:
        name = node.id
        if name.startswith("_"):
            return self.forbid(f"the name {name!r} is")
        if name in self.scope.facts:
            self.facts.add(name)
            return self.scope.facts[name], _fact(name)
        if name == "today":
            self.time.add(name)
            return DATE, lambda c: c.today()
        if name == "week":
            self.time.add(name)
            return INT, lambda c: c.week()
        if name in ("consent", "input", "done", "count"):
            return self.fail(
                "guard-forbidden",
                f"{name!r} cannot stand on its own in an expression; write {name}.<name>",
            )
        if name in self.scope.predicates:
            return self.fail("guard-type", f"predicate {name!r} must be called: {name}()")
        return self.fail("unknown-fact", f"unknown fact {name!r}")

    def v_Attribute(self, node: ast.Attribute) -> tuple[Type, Fn]:
        attr = node.attr
        if not isinstance(node.value, ast.Name) or attr.startswith("_"):
            return self.forbid("attribute access other than consent.<name> and input.<name> is")
        prefix = node.value.id
        if prefix == "consent":
            if attr not in self.scope.consents:
                return self.fail("unknown-consent", f"unknown consent {attr!r}")
            self.consents.add(attr)
            return BOOL, _consent(attr)
        if prefix == "input":
            inputs = self.scope.inputs
            if inputs is None or attr not in inputs:
                return self.fail(
                    "unknown-input", f"input {attr!r} is not declared by this transition"
                )
            self.inputs.add(attr)
            return inputs[attr], _input(attr)
        if prefix in ("done", "count"):
            if attr not in self.scope.activities:
                return self.fail("unknown-activity", f"unknown activity {attr!r}")
            self.activities.add(attr)
            if prefix == "done":
                return BOOL, _done(attr)
            return INT, _count(attr)
        return self.forbid(f"attribute access {prefix}.{attr} is")

    def integer(self, value: int) -> tuple[Type, Fn]:
        """An int literal: it must fit a signed 64-bit integer, as every int fact does."""
        if not INT64_MIN <= value <= INT64_MAX:
            return self.fail(
                "schema",
                f"{int_phrase(value)} is out of range: integers fit a signed 64-bit integer "
                f"({INT64_MIN} to {INT64_MAX})",
            )
        return INT, _const(value)

    def v_UnaryOp(self, node: ast.UnaryOp) -> tuple[Type, Fn]:
        operand = node.operand
        if (
            isinstance(node.op, ast.USub)
            and isinstance(operand, ast.Constant)
            and type(operand.value) is int
        ):
            return self.integer(-operand.value)  # -9223372036854775808 is in range
        t, f = self.visit(operand)
        if isinstance(node.op, ast.Not):
            self.expect(t, BOOL, "the operand of 'not'")
            return BOOL, lambda c: not f(c)
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            if not self.expect(t, INT, "the operand of unary minus"):
                return ANY, f
            if isinstance(node.op, ast.UAdd):
                return INT, f
            return INT, lambda c: None if (v := f(c)) is None else -v
        return self.forbid("the operator '~' is")

    def v_BoolOp(self, node: ast.BoolOp) -> tuple[Type, Fn]:
        word = "and" if isinstance(node.op, ast.And) else "or"
        fns = []
        for value in node.values:
            t, f = self.visit(value)
            self.expect(t, BOOL, f"an operand of '{word}'")
            fns.append(f)
        combine = _and if isinstance(node.op, ast.And) else _or
        fn = fns[0]
        for other in fns[1:]:
            fn = combine(fn, other)
        return BOOL, fn

    def v_BinOp(self, node: ast.BinOp) -> tuple[Type, Fn]:
        if not isinstance(node.op, (ast.Add, ast.Sub)):
            return self.forbid(f"the operator {_OPS.get(type(node.op), '?')!r} is")
        lt, lf = self.visit(node.left)
        rt, rf = self.visit(node.right)
        sign = "+" if isinstance(node.op, ast.Add) else "-"
        left_ok = self.expect(lt, INT, f"the left side of '{sign}'")
        right_ok = self.expect(rt, INT, f"the right side of '{sign}'")
        result = INT if left_ok and right_ok else ANY
        op = operator.add if sign == "+" else operator.sub

        k = _constant(rf)
        if k is not None:  # `x + 1`: the constant is not read again on every evaluation
            name = _fact_read(lf)
            if name is not None:
                return result, lambda c: None if (a := c.facts.get(name)) is None else op(a, k[0])
            return result, lambda c: None if (a := lf(c)) is None else op(a, k[0])

        def arith(c: EvalContext) -> Any:
            a, b = lf(c), rf(c)
            return None if a is None or b is None else op(a, b)

        return result, arith

    def v_Compare(self, node: ast.Compare) -> tuple[Type, Fn]:
        left_t, left_f = self.visit(node.left)
        left = node.left
        parts: list[Fn] = []
        for op, right in zip(node.ops, node.comparators, strict=True):
            right_t, right_f = self.visit(right)
            self.left_node = left
            parts.append(self.compare(op, left_t, left_f, right, right_t, right_f))
            left, left_t, left_f = right, right_t, right_f
        if len(parts) == 1:
            return BOOL, parts[0]
        chain = tuple(parts)
        return BOOL, lambda c: all(p(c) for p in chain)

    def compare(self, op: ast.cmpop, lt: Type, lf: Fn, right: ast.expr, rt: Type, rf: Fn) -> Fn:
        if isinstance(op, (ast.Is, ast.IsNot)):
            if rt.kind != "none" and lt.kind != "none":
                self.forbid("'is' other than 'is None' / 'is not None' is")
            if isinstance(op, ast.Is):
                return lambda c: lf(c) is rf(c)
            return lambda c: lf(c) is not rf(c)
        if isinstance(op, (ast.Eq, ast.NotEq)):
            if NONE in (lt, rt):
                self.fail("guard-type", "compare with None using 'is None' or 'is not None'")
            else:
                self.compatible(lt, rt, right)
            k = _constant(rf)
            if k is not None:
                return _equals(lf, k[0], isinstance(op, ast.NotEq))
            if isinstance(op, ast.Eq):
                return lambda c: lf(c) == rf(c)
            return lambda c: lf(c) != rf(c)
        if isinstance(op, (ast.In, ast.NotIn)):
            if rt.kind == "list":
                assert rt.item is not None
                if rt.item.kind != "any":
                    self.compatible(lt, rt.item, right)
            elif rt.kind != "any":
                self.fail("guard-type", f"'in' needs a list on its right side, not {rt}")
            negate = isinstance(op, ast.NotIn)

            def contains(c: EvalContext) -> bool:
                a, b = lf(c), rf(c)
                if a is None or b is None:
                    return negate
                return (a in b) != negate

            return contains
        fn = _ORDER[type(op)]
        if "any" not in (lt.kind, rt.kind) and (
            lt.kind != rt.kind or lt.kind not in ("int", "date", "str")
        ):
            self.fail(
                "guard-type",
                f"cannot compare {lt} with {rt} using '{_OPS[type(op)]}' "
                "(ordering works on two ints, two dates or two strings)",
            )

        k = _constant(rf)
        if k is not None and k[0] is not None:  # `sessions >= 3`: the usual guard
            name = _fact_read(lf)
            value = k[0]
            if name is not None:
                return lambda c: (a := c.facts.get(name)) is not None and bool(fn(a, value))
            return lambda c: (a := lf(c)) is not None and bool(fn(a, value))

        def order(c: EvalContext) -> bool:
            a, b = lf(c), rf(c)
            return False if a is None or b is None else bool(fn(a, b))

        return order

    def compatible(self, a: Type, b: Type, right: ast.expr) -> None:
        """Check that values of ``a`` and ``b`` can be equal (or one contain the other)."""
        if "any" in (a.kind, b.kind):
            return
        if a.kind == "enum" or b.kind == "enum":
            enum, other = (a, b) if a.kind == "enum" else (b, a)
            if other.kind == "enum":
                if not set(enum.values) & set(other.values):
                    self.fail("guard-type", f"{a} and {b} share no value")
                return
            if other.kind != "str":
                self.fail("guard-type", f"cannot compare {enum} with {other}")
                return
            literals_side = right if a.kind == "enum" else self.left_node
            for literal in _string_literals(literals_side) if literals_side is not None else ():
                if literal not in enum.values:
                    self.fail(
                        "guard-type",
                        f"{literal!r} is not one of the values {list(enum.values)}",
                    )
            return
        if a.kind != b.kind:
            self.fail("guard-type", f"cannot compare {a} with {b}")
        elif a.kind == "list":
            assert a.item is not None and b.item is not None
            self.compatible(a.item, b.item, right)

    def v_Call(self, node: ast.Call) -> tuple[Type, Fn]:
        if not isinstance(node.func, ast.Name):
            return self.forbid("calling anything but a declared predicate is")
        name = node.func.id
        if name.startswith("_"):
            return self.forbid(f"the name {name!r} is")
        if name == "date":
            return self.date_literal(node)
        if name == "len":
            return self.length(node)
        if name == "school_year":
            return self.school_year(node)
        if name in HOLIDAY_FUNCTIONS:
            return self.holiday(node, name)
        if name in self.scope.predicates:
            if node.args or node.keywords:
                return self.forbid(f"arguments to predicate {name}() are")
            self.predicates.add(name)
            return BOOL, lambda c: bool(c.predicate(name))
        if node.args or node.keywords:
            return self.forbid(f"calling {name}() is")
        return self.fail("unknown-predicate", f"{name}() is not a declared predicate")

    def date_literal(self, node: ast.Call) -> tuple[Type, Fn]:
        if (
            len(node.args) != 1
            or node.keywords
            or not isinstance(node.args[0], ast.Constant)
            or not isinstance(node.args[0].value, str)
        ):
            return self.forbid('date() other than date("YYYY-MM-DD") is')
        text = node.args[0].value
        try:
            if not _DATE_RE.match(text):
                raise ValueError(text)
            value = date.fromisoformat(text)
        except ValueError:
            return self.fail("guard-type", f"{text!r} is not a date written YYYY-MM-DD")
        return DATE, _const(value)

    def school_year(self, node: ast.Call) -> tuple[Type, Fn]:
        if len(node.args) != 1 or node.keywords:
            return self.forbid("school_year() other than school_year(<date>) is")
        t, f = self.visit(node.args[0])
        if t.kind not in ("date", "any"):
            return self.fail("guard-type", f"school_year() takes a date, not {t}")

        def year(c: EvalContext) -> int | None:
            day = f(c)
            return None if day is None else school_year_of(day)

        return INT, year

    def holiday(self, node: ast.Call, name: str) -> tuple[Type, Fn]:
        if (
            len(node.args) != 1
            or node.keywords
            or not isinstance(node.args[0], ast.Constant)
            or not isinstance(node.args[0].value, str)
        ):
            return self.forbid(f'{name}() other than {name}("<holiday name>") is')
        holiday = node.args[0].value
        if not holiday_name_ok(holiday):
            return self.fail(
                "guard-type",
                f"{holiday!r} is not a holiday name (1-60 letters, digits, spaces, hyphens "
                'and underscores, e.g. "kerstvakantie")',
            )
        self.holidays.add(holiday)
        end = name == "holiday_end"

        def day(c: EvalContext) -> date | None:
            days = c.holiday(holiday)
            return None if days is None else days[end]

        return DATE, day

    def length(self, node: ast.Call) -> tuple[Type, Fn]:
        if len(node.args) != 1 or node.keywords:
            return self.forbid("len() other than len(<list>) is")
        t, f = self.visit(node.args[0])
        if t.kind not in ("list", "any"):
            return self.fail("guard-type", f"len() takes a list, not {t}")

        def size(c: EvalContext) -> int | None:
            value = f(c)
            return None if value is None else len(value)

        return INT, size

    def v_List(self, node: ast.List | ast.Tuple) -> tuple[Type, Fn]:
        items: list[Value] = []
        item_type: Type | None = None
        for element in node.elts:
            if not _is_literal(element):
                return self.forbid("list elements other than literals are")
            t, f = self.visit(element)
            if item_type is None or item_type.kind == "any":
                item_type = t
            elif t.kind not in (item_type.kind, "any"):
                self.fail("guard-type", f"a list mixes {item_type} and {t}")
            items.append(f(_EMPTY))
        values = tuple(items)
        return Type("list", item=item_type or ANY), _const(values)

    v_Tuple = v_List

    def expect(self, got: Type, want: Type, what: str) -> bool:
        """Report unless ``got`` fits ``want``; True when it fits."""
        if got.kind not in (want.kind, "any"):
            self.fail("guard-type", f"{what} must be {want}, not {got}")
            return False
        return True


_EMPTY = EvalContext({}, {})

_OPS: dict[type, str] = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.MatMult: "@",
}
_ORDER: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_NODE_WORDS = {
    "Subscript": "subscripts are",
    "Lambda": "lambda expressions are",
    "ListComp": "comprehensions are",
    "SetComp": "comprehensions are",
    "DictComp": "comprehensions are",
    "GeneratorExp": "generator expressions are",
    "IfExp": "conditional expressions are",
    "Dict": "dict literals are",
    "Set": "set literals are",
    "NamedExpr": "assignment expressions are",
    "Starred": "starred expressions are",
    "JoinedStr": "f-strings are",
    "Await": "await is",
    "Yield": "yield is",
    "YieldFrom": "yield is",
    "Slice": "slices are",
}


def _describe(node: ast.AST) -> str:
    return _NODE_WORDS.get(type(node).__name__, f"{type(node).__name__} is")


def _is_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return isinstance(node.operand, ast.Constant)
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "date"


def _string_literals(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [
            e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
    return []


def _and(a: Fn, b: Fn) -> Fn:
    return lambda c: bool(a(c)) and bool(b(c))


def _or(a: Fn, b: Fn) -> Fn:
    return lambda c: bool(a(c)) or bool(b(c))


_CONSTANTS: weakref.WeakKeyDictionary[Fn, tuple[object]] = weakref.WeakKeyDictionary()
_FACTS: weakref.WeakKeyDictionary[Fn, str] = weakref.WeakKeyDictionary()
"""What the functions made by :func:`_const` and :func:`_fact` read, while they live: an
operator with such an operand reads the constant or the fact itself (one call fewer per
operand on every evaluation)."""


def _const(value: object) -> Fn:
    fn: Fn = lambda c: value  # noqa: E731
    _CONSTANTS[fn] = (value,)
    return fn


def _fact(name: str) -> Fn:
    fn: Fn = lambda c: c.facts.get(name)  # noqa: E731
    _FACTS[fn] = name
    return fn


def _equals(lf: Fn, value: object, negate: bool) -> Fn:
    """``lf == value`` (``!=`` with ``negate``) for a constant ``value``."""
    name = _fact_read(lf)
    if name is not None:
        if negate:
            return lambda c: c.facts.get(name) != value
        return lambda c: c.facts.get(name) == value
    if negate:
        return lambda c: lf(c) != value
    return lambda c: lf(c) == value


def _constant(fn: Fn) -> tuple[object] | None:
    """``(value,)`` when ``fn`` is a constant's function, else None."""
    return _CONSTANTS.get(fn)


def _fact_read(fn: Fn) -> str | None:
    """The fact's name when ``fn`` only reads that fact, else None."""
    return _FACTS.get(fn)


def _consent(name: str) -> Fn:
    return lambda c: bool(c.consents.get(name, False))


def _input(name: str) -> Fn:
    return lambda c: c.input.get(name)


_HOLIDAY_NAME_RE = re.compile(r"^[^\W_](?:[\w -]{0,58}[^\W_])?$")


def holiday_name_ok(name: str) -> bool:
    """Whether ``name`` can name a holiday: 1-60 letters, digits, spaces, hyphens and
    underscores, starting and ending with a letter or digit."""
    return bool(_HOLIDAY_NAME_RE.match(name))


def _done(name: str) -> Fn:
    return lambda c: c.counts.get(name, 0) > 0


def _count(name: str) -> Fn:
    return lambda c: c.counts.get(name, 0)


def literal_source(value: object) -> str:
    """The expression text of a YAML literal used as an effect (``true``, ``3``...)."""
    return repr(value)


_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _failed(source: str, problem: ExprProblem) -> Compiled:
    """An expression that could not be parsed. Every word in it counts as mentioned, so
    that one typo does not also make its facts and consents look unused."""
    words = frozenset(_WORD_RE.findall(source))
    return Compiled(source, ANY, _const(None), facts=words, consents=words, problems=(problem,))


def compile_expression(
    source: str, scope: Scope, *, expect: Type | None = None, what: str = "the guard"
) -> Compiled:
    """Check and compile ``source``. The result lists its problems, if any."""
    if len(source) > MAX_EXPRESSION_LENGTH:
        return _failed(
            source,
            ExprProblem(
                "guard-syntax",
                f"the expression is {len(source)} characters long; "
                f"at most {MAX_EXPRESSION_LENGTH} are allowed",
            ),
        )
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        return _failed(
            source, ExprProblem("guard-syntax", f"{exc.msg}{where} of {source.strip()!r}")
        )
    except (ValueError, RecursionError, MemoryError) as exc:
        return _failed(
            source, ExprProblem("guard-syntax", f"the expression cannot be parsed: {exc}")
        )
    checker = _Checker(scope)
    try:
        typ, fn = checker.visit(tree)
    except RecursionError:
        return _failed(source, ExprProblem("guard-syntax", "the expression is nested too deeply"))
    if expect is not None and not checker.problems:
        _check_assignable(checker, typ, expect, what, tree.body)
    return Compiled(
        source=source,
        type=typ,
        fn=fn,
        facts=frozenset(checker.facts),
        inputs=frozenset(checker.inputs),
        consents=frozenset(checker.consents),
        predicates=frozenset(checker.predicates),
        activities=frozenset(checker.activities),
        time=frozenset(checker.time),
        holidays=frozenset(checker.holidays),
        problems=tuple(checker.problems),
    )


def _check_assignable(checker: _Checker, got: Type, want: Type, what: str, body: ast.expr) -> None:
    if fits(got, want):
        return
    if got.kind == "none" and what != "the guard":
        return  # an effect may unset a fact
    if want.kind == "enum":
        if got.kind == "enum" and set(got.values) <= set(want.values):
            return
        if got.kind == "str" and isinstance(body, ast.Constant):
            if body.value in want.values:
                return
            checker.fail(
                "guard-type", f"{body.value!r} is not one of the values {list(want.values)}"
            )
            return
    if (
        want.kind == "list"
        and got.kind == "list"
        and isinstance(body, (ast.List, ast.Tuple))
        and want.item is not None
        and want.item.kind == "enum"
        and got.item is not None
        and got.item.kind == "str"
    ):
        wrong = [v for v in _string_literals(body) if v not in want.item.values]
        if not wrong:
            return
        checker.fail(
            "guard-type", f"{wrong[0]!r} is not one of the values {list(want.item.values)}"
        )
        return
    checker.fail("guard-type", f"{what} must be {want}, not {got}")
