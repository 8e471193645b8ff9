"""Compiling the expressions of a definition: transition guards and effects, role hook
effects, and (for :mod:`.activities`) activity guards and ``expected``. Each is checked
by :func:`coachflow.definition.expressions.compile_expression`; its problems are
reported where the expression stands, and what compiled is handed on.

Also the checks of effects that are not the compiler's: a fact that is not declared
(``unknown-fact``), a literal outside its fact's bounds or values (``guard-type``) and a
confidential input copied into a fact (``confidential-effect``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from coachflow.definition.checks.context import Context, Uses, YamlPath
from coachflow.definition.compiled import CompiledTransition
from coachflow.definition.expressions import (
    ANY,
    BOOL,
    Compiled,
    Scope,
    Type,
    compile_expression,
    literal_source,
    type_of_spec,
)
from coachflow.definition.model import Activity, AnyFact, EffectValue, InputField
from coachflow.diagnostics import ERROR

Mark = tuple[int, int]
"""A diagnostic's line and column."""


@dataclass(frozen=True, slots=True)
class Names:
    """What every expression of the definition may refer to; :meth:`scope` adds inputs."""

    facts: Mapping[str, Type]
    consents: frozenset[str]
    predicates: frozenset[str]
    activities: frozenset[str]

    @classmethod
    def of(cls, ctx: Context) -> Names:
        d = ctx.definition
        fact_types = {n: type_of_spec(f) for n, f in d.facts.items()}
        for name in ctx.dropped_facts:
            fact_types[name] = ANY  # declared, but its type is unknown
        return cls(fact_types, ctx.consents, frozenset(d.predicates), ctx.activities)

    def scope(self, inputs: Mapping[str, InputField]) -> Scope:
        """What an expression may refer to: the definition's names, and ``inputs``."""
        return Scope(
            facts=self.facts,
            consents=self.consents,
            predicates=self.predicates,
            inputs={n: type_of_spec(spec) for n, spec in inputs.items()},
            activities=self.activities,
        )


@dataclass(slots=True)
class Compiler:
    """Compiles the expressions of one check, reporting their problems. It keeps what
    they mention (for the unused-declaration check) and where a ``guard-syntax`` problem
    was reported (the control-character check reports no second problem there)."""

    ctx: Context
    names: Names
    uses: Uses = field(default_factory=Uses)
    syntax_errors: set[Mark] = field(default_factory=set)

    def expression(
        self, source: str, scope: Scope, expect: Type, what: str, path: YamlPath
    ) -> Compiled | None:
        """``source`` compiled (``None`` when it has problems, which are reported)."""
        result = compile_expression(source, scope, expect=expect, what=what)
        self.uses.facts |= result.facts
        self.uses.consents |= result.consents
        for problem in result.problems:
            reported = self.ctx.report(problem.code, ERROR, problem.message, path)
            if problem.code == "guard-syntax":
                self.syntax_errors.add((reported.line, reported.column))
        return result if result.ok else None

    def effects(
        self,
        effects: Mapping[str, EffectValue],
        scope: Scope,
        where: YamlPath,
        inputs: Mapping[str, InputField],
        declassified: Collection[str] = (),
    ) -> dict[str, Compiled]:
        """Compile the ``set`` effects at ``where``; a fact that fails is left out. An
        effect may read a confidential input only when it is ``declassified``."""
        compiled_effects: dict[str, Compiled] = {}
        for fact, value in effects.items():
            self.uses.facts.add(fact)
            compiled = self._effect(fact, value, scope, (*where, fact))
            if compiled is None:
                continue
            compiled_effects[fact] = compiled
            leaked = sorted(
                n for n in compiled.inputs if inputs[n].confidential and n not in declassified
            )
            if leaked:
                self.ctx.report(
                    "confidential-effect",
                    ERROR,
                    f"the value for {fact!r} copies the confidential input "
                    f"{', '.join(map(repr, leaked))} into a fact, which every "
                    "participant can read (unless the transition declassifies it: "
                    f"declassifies: {{{leaked[0]}: <reason>}})",
                    (*where, fact),
                )
        return compiled_effects

    def _effect(
        self, fact: str, value: EffectValue, scope: Scope, path: YamlPath
    ) -> Compiled | None:
        fact_types = scope.facts
        if fact not in fact_types:
            self.ctx.report(
                "unknown-fact", ERROR, f"effect sets unknown fact {fact!r}", path, key=True
            )
            return None
        spec = self.ctx.definition.facts.get(fact)
        self._literal_bounds(value, spec, path)
        if (
            spec is not None
            and spec.type == "enum"
            and isinstance(value, str)
            and value.strip().isidentifier()
            and value.strip() not in fact_types
            and value.strip() not in spec.values
        ):
            self.ctx.report(
                "guard-type",
                ERROR,
                f"{value.strip()!r} is not one of the values {list(spec.values)} "
                f"of {fact!r} (nor a fact)",
                path,
            )
            return None
        source = _effect_source(value, spec)
        return self.expression(source, scope, fact_types[fact], f"the value for {fact!r}", path)

    def _literal_bounds(self, value: EffectValue, spec: AnyFact | None, path: YamlPath) -> None:
        """A literal int effect outside its fact's min/max, or a literal list of a length
        outside its min_items/max_items, can never be applied."""
        if spec is not None and spec.type == "list":
            length = _literal_length(value)
            problem = None if length is None else spec.length_problem(length)
            if problem:
                self.ctx.report(
                    "guard-type", ERROR, f"this literal list never fits: {problem}", path
                )
            return
        if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
            value = int(value.strip())  # ASCII digits, at most 19 of them: int() cannot fail
        if spec is None or spec.type != "int" or isinstance(value, bool):
            return
        if not isinstance(value, int):
            return
        if spec.min is not None and value < spec.min:
            self.ctx.report("guard-type", ERROR, f"{value} is below the minimum {spec.min}", path)
        if spec.max is not None and value > spec.max:
            self.ctx.report("guard-type", ERROR, f"{value} is above the maximum {spec.max}", path)


@dataclass(frozen=True, slots=True)
class TransitionExpressions:
    """The compiled guard and effects of every transition (in file order)."""

    transitions: tuple[CompiledTransition, ...]
    uses: Uses
    syntax_errors: frozenset[Mark]


@dataclass(frozen=True, slots=True)
class HookExpressions:
    """``(role, "on_assign" | "on_unassign")`` -> the compiled effects of that hook."""

    role_effects: dict[tuple[str, str], dict[str, Compiled]]
    uses: Uses
    syntax_errors: frozenset[Mark]


def compile_transitions(ctx: Context, names: Names) -> TransitionExpressions:
    """Compile each transition's guard (``when``) and effects (``set``)."""
    compiler = Compiler(ctx, names)
    compiled: list[CompiledTransition] = []
    for i, t in ctx.transitions:
        where = ("transitions", i)
        scope = names.scope(t.input)
        guard = None
        if t.when is not None:
            guard = compiler.expression(t.when, scope, BOOL, "the guard", (*where, "when"))
        effects = compiler.effects(t.set, scope, (*where, "set"), t.input, t.declassifies)
        compiled.append(CompiledTransition(i, guard, effects))
    return TransitionExpressions(tuple(compiled), compiler.uses, frozenset(compiler.syntax_errors))


def compile_role_hooks(ctx: Context, names: Names) -> HookExpressions:
    """Compile the effects of each role's ``on_assign`` and ``on_unassign``."""
    compiler = Compiler(ctx, names)
    no_input = names.scope({})
    role_effects: dict[tuple[str, str], dict[str, Compiled]] = {}
    for name, role in ctx.definition.roles.items():
        for key in ("on_assign", "on_unassign"):
            hook = getattr(role, key)
            if hook is not None:
                where = ("roles", name, key, "set")
                role_effects[(name, key)] = compiler.effects(hook.set, no_input, where, {})
    return HookExpressions(role_effects, compiler.uses, frozenset(compiler.syntax_errors))


def compile_activity(
    compiler: Compiler, activity: Activity, where: YamlPath
) -> tuple[Compiled | None, Compiled | None]:
    """An activity's guard (``when``, which may read its inputs) and ``expected``."""
    guard = expected = None
    if activity.when is not None:
        scope = compiler.names.scope(activity.input)
        guard = compiler.expression(activity.when, scope, BOOL, "the guard", (*where, "when"))
    if activity.expected is not None:
        scope = compiler.names.scope({})
        expected = compiler.expression(
            activity.expected, scope, BOOL, "the guard", (*where, "expected")
        )
    return guard, expected


def _literal_length(value: EffectValue) -> int | None:
    """The number of items of a literal list effect (YAML list or list text), if it is one."""
    if isinstance(value, tuple):
        return len(value)
    if isinstance(value, str):
        try:
            node = ast.parse(value.strip(), mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        if isinstance(node, (ast.List, ast.Tuple)):
            return len(node.elts)
    return None


_INT_TEXT = re.compile(r"-?[0-9]{1,19}")
"""An effect written as a plain int (longer ones are out of range: the compiler says so)."""


def _effect_source(value: EffectValue, spec: AnyFact | None) -> str:
    """The expression text of an effect. For an enum fact, a bare value name such as
    ``support: coaching`` means that value."""
    if isinstance(value, str):
        if spec is not None and spec.type == "enum" and value.strip() in spec.values:
            return repr(value.strip())
        return value
    return literal_source(value)
