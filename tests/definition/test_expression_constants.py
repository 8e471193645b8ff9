"""An operator with a constant operand reads the constant directly (speed issue); it
gives exactly what the general form gives, where the same value comes from a fact
(missing facts included: an ordering with a missing value is false, a sum with one is
missing, an equality compares with None)."""

from __future__ import annotations

import operator
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from coachflow.definition.expressions import (
    DATE,
    INT,
    STR,
    EvalContext,
    Scope,
    compile_expression,
)

SCOPE = Scope(facts={"n": INT, "k": INT, "s": STR, "t": STR, "d": DATE, "e": DATE})
PYTHON = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "+": operator.add,
    "-": operator.sub,
}
ORDERS = ["<", "<=", ">", ">=", "==", "!="]
INTS = st.integers(-(2**63), 2**63 - 1)


def run(source: str, facts: dict[str, object]) -> object:
    compiled = compile_expression(source, SCOPE)
    assert not compiled.problems, compiled.problems
    return compiled.fn(EvalContext(facts, {}))


@given(op=st.sampled_from(ORDERS), n=st.none() | INTS, k=INTS)
def test_comparing_an_int_fact_with_a_constant(op: str, n: int | None, k: int) -> None:
    facts = {"n": n, "k": k}
    assert run(f"n {op} {k}", facts) is run(f"n {op} k", facts)
    if n is not None:
        assert run(f"n {op} {k}", facts) is PYTHON[op](n, k)
    elif op not in ("==", "!="):
        assert run(f"n {op} {k}", facts) is False


@given(
    op=st.sampled_from(ORDERS),
    s=st.none() | st.text(max_size=5),
    t=st.text(max_size=5),
    d=st.none() | st.dates(),
    e=st.dates(),
)
def test_comparing_text_and_dates_with_constants(
    op: str, s: str | None, t: str, d: date | None, e: date
) -> None:
    facts = {"s": s, "t": t, "d": d, "e": e}
    assert run(f"s {op} {t!r}", facts) is run(f"s {op} t", facts)
    constant_day = f'date("{e.isoformat()}")'
    assert run(f"d {op} {constant_day}", facts) is run(f"d {op} e", facts)


@given(sign=st.sampled_from(["+", "-"]), n=st.none() | st.integers(-1000, 1000), k=INTS)
def test_a_sum_with_a_constant(sign: str, n: int | None, k: int) -> None:
    facts = {"n": n, "k": k}
    assert run(f"n {sign} {k}", facts) == run(f"n {sign} k", facts)
    assert run(f"(n + 0) {sign} {k}", facts) == run(f"(n + 0) {sign} k", facts)
    assert run(f"n {sign} {k}", facts) == (None if n is None else PYTHON[sign](n, k))


@given(op=st.sampled_from(ORDERS), n=st.none() | st.integers(-5, 5), k=st.integers(-5, 5))
def test_a_nested_operand_with_a_constant(op: str, n: int | None, k: int) -> None:
    facts = {"n": n, "k": k}
    assert run(f"n + 1 {op} {k}", facts) is run(f"n + 1 {op} k", facts)
