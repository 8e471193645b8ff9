"""Cross-reference, expression and graph checks of a parsed definition.

Runs on what :mod:`coachflow.files.definitions` could read (possibly with invalid
entries left out) and reports every problem as a located
:class:`~coachflow.diagnostics.Diagnostic`. The graph checks use networkx; the
expressions are compiled by :mod:`coachflow.definition.expressions` and handed on,
compiled once, in a :class:`CompiledDefinition`.
"""

from __future__ import annotations

import itertools
import keyword
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from coachflow._bounds import control_character
from coachflow.definition.expressions import (
    ANY,
    BOOL,
    RESERVED_NAMES,
    Compiled,
    Scope,
    Type,
    compile_expression,
    fits,
    literal_source,
    type_of_spec,
)
from coachflow.definition.model import PERIOD_NAMES, Definition, expand_sources
from coachflow.definition.parsed import ParsedDefinition
from coachflow.diagnostics import ERROR, WARNING, Diagnostic, Mark, sort_key


@dataclass(frozen=True, slots=True)
class CompiledTransition:
    """A transition with its guard and effects compiled."""

    index: int
    guard: Compiled | None
    effects: Mapping[str, Compiled]


@dataclass(slots=True)
class CompiledDefinition:
    definition: Definition
    transitions: list[CompiledTransition] = field(default_factory=list)
    activity_guards: dict[str, Compiled | None] = field(default_factory=dict)
    activity_expected: dict[str, Compiled | None] = field(default_factory=dict)
    role_effects: dict[tuple[str, str], dict[str, Compiled]] = field(default_factory=dict)
    """``(role, "on_assign" | "on_unassign")`` -> the compiled effects."""


@dataclass(slots=True)
class _Analyzer:
    parsed: ParsedDefinition
    definition: Definition
    diagnostics: list[Diagnostic] = field(default_factory=list)
    used_roles: set[str] = field(default_factory=set)
    used_facts: set[str] = field(default_factory=set)
    used_consents: set[str] = field(default_factory=set)
    compiled: list[CompiledTransition] = field(default_factory=list)
    scope_base: tuple[Any, ...] = ()
    expected: dict[str, Compiled | None] = field(default_factory=dict)
    role_effects: dict[tuple[str, str], dict[str, Compiled]] = field(default_factory=dict)

    def report(
        self,
        code: str,
        message: str,
        path: tuple[Any, ...],
        *,
        key: bool = False,
        severity: str = ERROR,
    ) -> None:
        mark: Mark = self.parsed.locate(path, key)
        self.diagnostics.append(
            Diagnostic(
                code,
                ERROR if severity == ERROR else WARNING,
                message,
                self.parsed.path,
                mark.line or 1,
                mark.column or 1,
            )
        )

    # -- names --------------------------------------------------------------------------

    def known(self, kind: str, mapping: Mapping[str, Any]) -> set[str]:
        return set(mapping) | self.parsed.dropped.get(kind, set())

    def check_names(self) -> None:
        d = self.definition
        for name in d.facts:
            if name in RESERVED_NAMES or keyword.iskeyword(name):
                self.used_facts.add(name)  # one diagnostic is enough
                self.report(
                    "schema",
                    f"{name!r} is reserved in expressions and cannot name a fact",
                    ("facts", name),
                    key=True,
                )
        for name in d.consents:
            if keyword.iskeyword(name) or name.startswith("__"):
                self.used_consents.add(name)
                self.report(
                    "schema",
                    f"{name!r} is a Python keyword, so consent.{name} could never be read",
                    ("consents", name),
                    key=True,
                )
        for j, name in enumerate(d.predicates):
            if name in RESERVED_NAMES or keyword.iskeyword(name):
                self.report(
                    "schema",
                    f"{name!r} is reserved in expressions and cannot name a predicate",
                    ("predicates", j),
                )
        for i, t in self.transitions():
            for name in t.input:
                if keyword.iskeyword(name):
                    self.report(
                        "schema",
                        f"{name!r} is a Python keyword and cannot name an input",
                        ("transitions", i, "input", name),
                        key=True,
                    )

    def transitions(self) -> list[tuple[int, Any]]:
        index = self.parsed.transition_index or tuple(range(len(self.definition.transitions)))
        return list(zip(index, self.definition.transitions, strict=True))

    # -- references and expressions -----------------------------------------------------

    def check_references(self) -> None:
        d = self.definition
        states = self.known("states", d.states)
        roles = self.known("roles", d.roles)
        if d.initial not in states:
            self.report(
                "unknown-initial", f"initial state {d.initial!r} is not declared", ("initial",)
            )
        for name, role in d.roles.items():
            for j, other in enumerate(role.assigned_by):
                self.used_roles.add(other)
                if other not in roles:
                    self.report(
                        "unknown-role",
                        f"role {name!r} is assigned by unknown role {other!r}",
                        ("roles", name, "assigned_by", j),
                    )
        for j, starter in enumerate(d.started_by or ()):
            self.used_roles.add(starter)
            if starter not in roles:
                self.report(
                    "unknown-role", f"started_by names unknown role {starter!r}", ("started_by", j)
                )
        for name, consent in d.consents.items():
            self.used_roles.add(consent.granted_by)
            if consent.granted_by not in roles:
                self.report(
                    "unknown-role",
                    f"consent {name!r} is granted by unknown role {consent.granted_by!r}",
                    ("consents", name, "granted_by"),
                )
        fact_types: dict[str, Type] = {n: type_of_spec(f) for n, f in d.facts.items()}
        for name in self.parsed.dropped.get("facts", set()):
            fact_types[name] = ANY
        consents = frozenset(self.known("consents", d.consents))
        predicates = frozenset(d.predicates)
        activities = frozenset(self.known("activities", d.activities))
        self.scope_base = (fact_types, consents, predicates, activities)
        for i, t in self.transitions():
            where = ("transitions", i)
            if isinstance(t.from_, tuple):
                for j, src in enumerate(t.from_):
                    if src not in states:
                        self.report("unknown-state", f"unknown state {src!r}", (*where, "from", j))
            elif t.from_ != "*" and t.from_ not in states:
                self.report("unknown-state", f"unknown state {t.from_!r}", (*where, "from"))
            if t.to not in states:
                self.report("unknown-state", f"unknown state {t.to!r}", (*where, "to"))
            for j, role in enumerate(t.by):
                self.used_roles.add(role)
                if role not in roles:
                    self.report("unknown-role", f"unknown role {role!r}", (*where, "by", j))
            scope = self.scope(t.input)
            self.check_fields(t.input, (*where, "input"))
            guard = None
            if t.when is not None:
                guard = self.expression(t.when, scope, BOOL, "the guard", (*where, "when"))
            effects = self.check_effects(t.set, scope, (*where, "set"), t.input)
            self.compiled.append(CompiledTransition(i, guard, effects))
        no_input = self.scope({})
        for name, role in d.roles.items():
            for key in ("on_assign", "on_unassign"):
                hook = getattr(role, key)
                if hook is None:
                    continue
                self.role_effects[(name, key)] = self.check_effects(
                    hook.set, no_input, ("roles", name, key, "set"), {}
                )
                if not role.assigned_by:
                    self.report(
                        "hook-never-runs",
                        f"role {name!r} has {key}, but no assigned_by: people are bound to "
                        "it only at the start, when no hook runs",
                        ("roles", name, key),
                        key=True,
                        severity=WARNING,
                    )

    def scope(self, inputs: Mapping[str, Any]) -> Scope:
        """What an expression may refer to: the definition's names, and ``inputs``."""
        fact_types, consents, predicates, activities = self.scope_base
        return Scope(
            facts=fact_types,
            consents=consents,
            predicates=predicates,
            inputs={n: type_of_spec(spec) for n, spec in inputs.items()},
            activities=activities,
        )

    def check_effects(
        self,
        effects: Mapping[str, Any],
        scope: Scope,
        where: tuple[Any, ...],
        inputs: Mapping[str, Any],
    ) -> dict[str, Compiled]:
        """Compile the ``set`` effects at ``where``; a fact that fails is left out."""
        d = self.definition
        fact_types = scope.facts
        compiled_effects: dict[str, Compiled] = {}
        for fact, value in effects.items():
            self.used_facts.add(fact)
            path = (*where, fact)
            if fact not in fact_types:
                self.report("unknown-fact", f"effect sets unknown fact {fact!r}", path, key=True)
                continue
            spec = d.facts.get(fact)
            self.check_literal_bounds(value, spec, path)
            if (
                spec is not None
                and spec.type == "enum"
                and isinstance(value, str)
                and value.strip().isidentifier()
                and value.strip() not in fact_types
                and value.strip() not in spec.values
            ):
                self.report(
                    "guard-type",
                    f"{value.strip()!r} is not one of the values {list(spec.values)} "
                    f"of {fact!r} (nor a fact)",
                    path,
                )
                continue
            source = _effect_source(value, spec)
            compiled = self.expression(
                source, scope, fact_types[fact], f"the value for {fact!r}", path
            )
            if compiled is None:
                continue
            compiled_effects[fact] = compiled
            leaked = sorted(n for n in compiled.inputs if inputs[n].confidential)
            if leaked:
                self.report(
                    "confidential-effect",
                    f"the value for {fact!r} copies the confidential input "
                    f"{', '.join(map(repr, leaked))} into a fact, which every "
                    "participant can read",
                    path,
                )
        return compiled_effects

    def check_literal_bounds(self, value: Any, spec: Any, path: tuple[Any, ...]) -> None:
        """A literal int effect outside its fact's min/max, or a literal list of a length
        outside its min_items/max_items, can never be applied."""
        if spec is not None and spec.type == "list":
            length = _literal_length(value)
            problem = None if length is None else spec.length_problem(length)
            if problem:
                self.report("guard-type", f"this literal list never fits: {problem}", path)
            return
        if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
            value = int(value.strip())  # ASCII digits, at most 19 of them: int() cannot fail
        if spec is None or spec.type != "int" or isinstance(value, bool):
            return
        if not isinstance(value, int):
            return
        if spec.min is not None and value < spec.min:
            self.report("guard-type", f"{value} is below the minimum {spec.min}", path)
        if spec.max is not None and value > spec.max:
            self.report("guard-type", f"{value} is above the maximum {spec.max}", path)

    def expression(
        self, source: str, scope: Scope, expect: Type, what: str, path: tuple[Any, ...]
    ) -> Compiled | None:
        result = compile_expression(source, scope, expect=expect, what=what)
        self.used_facts |= result.facts
        self.used_consents |= result.consents
        for problem in result.problems:
            self.report(problem.code, problem.message, path)
        return result if result.ok else None

    # -- activities and confidential fields ---------------------------------------------

    def check_fields(self, fields: Mapping[str, Any], path: tuple[Any, ...]) -> None:
        """``visible_to`` and ``disclose_to`` of input fields."""
        roles = self.known("roles", self.definition.roles)
        consents = self.known("consents", self.definition.consents)
        for name, spec in fields.items():
            where = (*path, name)
            for j, role in enumerate(spec.visible_to or ()):
                self.used_roles.add(role)
                if role not in roles:
                    self.report("unknown-role", f"unknown role {role!r}", (*where, "visible_to", j))
            for role, consent in spec.disclose_to.items():
                self.used_roles.add(role)
                self.used_consents.add(consent)
                if role not in roles:
                    self.report(
                        "unknown-role",
                        f"unknown role {role!r}",
                        (*where, "disclose_to", role),
                        key=True,
                    )
                if consent not in consents:
                    self.report(
                        "ungrantable-consent",
                        f"field {name!r} is disclosed to {role!r} through consent "
                        f"{consent!r}, which is not declared, so no role can grant it "
                        "(the field is never disclosed)",
                        (*where, "disclose_to", role),
                        severity=WARNING,
                    )

    def check_activities(self) -> dict[str, Compiled | None]:
        d = self.definition
        roles = self.known("roles", d.roles)
        states = self.known("states", d.states)
        guards: dict[str, Compiled | None] = {}
        for name, activity in d.activities.items():
            where = ("activities", name)
            for j, role in enumerate(activity.by):
                self.used_roles.add(role)
                if role not in roles:
                    self.report("unknown-role", f"unknown role {role!r}", (*where, "by", j))
            for role in activity.hours:
                self.used_roles.add(role)
                if role not in roles:
                    self.report(
                        "unknown-role",
                        f"hours are given for unknown role {role!r}",
                        (*where, "hours", role),
                        key=True,
                    )
            for j, state in enumerate(activity.during or ()):
                if state not in states:
                    self.report("unknown-state", f"unknown state {state!r}", (*where, "during", j))
                elif state in d.final_states:
                    self.report(
                        "during-final",
                        f"activity {name!r} cannot be recorded in final state {state!r}: "
                        "a trajectory that has ended takes no more records",
                        (*where, "during", j),
                    )
            self.check_due(name, activity, (*where, "due"))
            self.check_recurring(name, activity, (*where, "recurring", "every", "fact"))
            self.check_fields(activity.input, (*where, "input"))
            guard = None
            if activity.when is not None:
                scope = self.scope(activity.input)
                guard = self.expression(activity.when, scope, BOOL, "the guard", (*where, "when"))
            guards[name] = guard
            if activity.expected is not None:
                scope = self.scope({})
                self.expected[name] = self.expression(
                    activity.expected, scope, BOOL, "the guard", (*where, "expected")
                )
        return guards

    def check_due(self, name: str, activity: Any, path: tuple[Any, ...]) -> None:
        d = self.definition
        due = activity.due
        if due is None:
            return
        if due.fact is not None:
            spec = d.facts.get(due.fact)
            if spec is None and due.fact not in self.parsed.dropped.get("facts", set()):
                self.report("unknown-fact", f"unknown fact {due.fact!r}", (*path, "fact"))
            elif spec is not None and spec.type != "date":
                self.report(
                    "bad-due",
                    f"activity {name!r} is due on fact {due.fact!r}, which is a "
                    f"{spec.type}, not a date",
                    (*path, "fact"),
                )
            self.used_facts.add(due.fact)
        if due.week is not None and activity.during:
            spans = [d.states[s].weeks for s in activity.during if s in d.states]
            if (
                spans
                and all(w is not None for w in spans)
                and not any(w.from_ <= due.week <= w.to for w in spans if w is not None)
            ):
                windows = ", ".join(f"{w.from_}-{w.to}" for w in spans if w is not None)
                self.report(
                    "due-outside-during",
                    f"activity {name!r} is due in week {due.week}, but its states "
                    f"{', '.join(activity.during)} hold in weeks {windows} only",
                    (*path, "week"),
                    severity=WARNING,
                )

    def check_recurring(self, name: str, activity: Any, path: tuple[Any, ...]) -> None:
        """``recurring: {every: {fact: ...}}`` needs an enum fact whose values are periods."""
        every = activity.recurring.every if activity.recurring is not None else None
        if every is None or isinstance(every, str):
            return
        self.used_facts.add(every.fact)
        spec = self.definition.facts.get(every.fact)
        if spec is None:
            if every.fact not in self.parsed.dropped.get("facts", set()):
                self.report("unknown-fact", f"unknown fact {every.fact!r}", path)
            return
        values = getattr(spec, "values", None) if spec.type == "enum" else None
        wrong = [v for v in values or () if v not in PERIOD_NAMES]
        if values is None or wrong:
            what = f"the values {wrong}" if wrong else f"values of type {spec.type}"
            self.report(
                "bad-recurring",
                f"activity {name!r} recurs every {every.fact!r}, which holds {what}; "
                f"it must be an enum of periods ({', '.join(PERIOD_NAMES)})",
                path,
            )

    # -- migrations ---------------------------------------------------------------------

    def check_migration_targets(self) -> None:
        d = self.definition
        m = d.migrates_from
        if m is None:
            return
        where = ("migrates_from",)
        if m.version >= d.version:
            self.report(
                "migration-map",
                f"a definition migrates from an older version; {m.version} is not older "
                f"than {d.version}",
                (*where, "version"),
            )
        states = self.known("states", d.states)
        for old, new in m.states.items():
            if new not in states:
                self.report("unknown-state", f"unknown state {new!r}", (*where, "states", old))
        facts = self.known("facts", d.facts)
        for old, new in m.facts.items():
            self.used_facts.add(new)
            if new not in facts:
                self.report("unknown-fact", f"unknown fact {new!r}", (*where, "facts", old))

    # -- the graph ------------------------------------------------------------------------

    def check_graph(self) -> None:
        import networkx as nx

        d = self.definition
        finals = d.final_states
        ambiguity = _Ambiguity(tuple(n for n, s in d.states.items() if not s.final))
        valid = []
        for i, t in self.transitions():
            if isinstance(t.from_, str) and t.from_ in finals:
                self.report(
                    "final-has-exit",
                    f"transition {t.event!r} leaves final state {t.from_!r}",
                    ("transitions", i, "from"),
                )
            elif isinstance(t.from_, tuple):
                for j, src in enumerate(t.from_):
                    if src in finals:
                        self.report(
                            "final-has-exit",
                            f"transition {t.event!r} leaves final state {src!r}",
                            ("transitions", i, "from", j),
                        )
            if t.from_any:
                ambiguous_with = ambiguity.add_wildcard(t.event, t.when is None)
            else:
                sources = (s for s in expand_sources(t.from_, d.states) if s in d.states)
                ambiguous_with = ambiguity.add(t.event, sources, t.when is None, finals)
            if ambiguous_with:
                self.report(
                    "ambiguous-transition",
                    f"event {t.event!r} already leaves {ambiguous_with} "
                    "through an earlier transition, and not every one of them has a guard "
                    "('when') to choose between them",
                    ("transitions", i, "event"),
                )
            if t.to in d.states:
                valid.append(t)
        if d.initial not in d.states:
            return
        # One edge per source state, except that the from: "*" transitions leave one node
        # that every non-final state leads to: the same paths, in states + transitions edges.
        graph = nx.DiGraph()
        graph.add_nodes_from(d.states)
        anywhere = object()
        for t in valid:
            if t.from_any:
                graph.add_edge(anywhere, t.to)
            else:
                graph.add_edges_from(
                    (s, t.to) for s in expand_sources(t.from_, d.states) if s in d.states
                )
        if anywhere in graph:
            graph.add_edges_from((name, anywhere) for name in ambiguity.non_final)
        reachable = nx.descendants(graph, d.initial) | {d.initial}
        sink = object()  # one search backwards from every final state at once
        graph.add_edges_from((f, sink) for f in finals)
        reaches_final = nx.ancestors(graph, sink)
        graph.remove_node(sink)
        for name, state in d.states.items():
            path = ("states", name)
            if name not in reachable:
                self.report(
                    "unreachable-state",
                    f"state {name!r} cannot be reached from the initial state {d.initial!r}",
                    path,
                    key=True,
                )
            if state.final:
                continue
            if graph.out_degree(name) == 0:
                self.report(
                    "dead-end",
                    f"state {name!r} is not final and no transition leaves it",
                    path,
                    key=True,
                )
            elif name not in reaches_final:
                self.report(
                    "no-final-path",
                    f"no final state can be reached from state {name!r}",
                    path,
                    key=True,
                )

    # -- unused declarations --------------------------------------------------------------

    def check_unused(self) -> None:
        d = self.definition
        for kind, declared, used in (
            ("role", d.roles, self.used_roles),
            ("fact", d.facts, self.used_facts),
            ("consent", d.consents, self.used_consents),
        ):
            for name in declared:
                if name not in used:
                    self.report(
                        f"unused-{kind}",
                        f"{kind} {name!r} is declared but never used",
                        (kind + "s", name),
                        key=True,
                        severity=WARNING,
                    )


@dataclass(slots=True)
class _Ambiguity:
    """Which states each event already leaves, for ``ambiguous-transition``. A ``from:
    "*"`` transition is kept once per event, not once per non-final state, so the check
    takes time and memory in proportion to the transitions and states, not their product."""

    non_final: tuple[str, ...]
    named: dict[tuple[str, str], bool] = field(default_factory=dict)
    """(event, state) -> whether one of the earlier transitions naming it has no guard."""
    wildcard: dict[str, bool] = field(default_factory=dict)
    """event -> whether one of its earlier ``from: "*"`` transitions has no guard."""
    named_non_final: dict[str, dict[str, None]] = field(default_factory=dict)
    """event -> the non-final states its earlier transitions name, in file order."""
    unguarded_non_final: dict[str, dict[str, None]] = field(default_factory=dict)
    """event -> those of them that an unguarded one names."""

    def add(
        self, event: str, sources: Iterable[str], unguarded: bool, finals: frozenset[str]
    ) -> str:
        """A transition of ``event`` that names ``sources``: the states where it is
        ambiguous, as text (empty when there are none)."""
        wildcard = self.wildcard.get(event)
        clash: list[str] = []
        for src in dict.fromkeys(sources):
            key = (event, src)
            named = self.named.get(key)
            covered = wildcard is not None and src not in finals
            if (named is not None or covered) and (unguarded or named or (covered and wildcard)):
                clash.append(src)
            self.named[key] = bool(named) or unguarded
            if src not in finals:
                self.named_non_final.setdefault(event, {})[src] = None
                if unguarded:
                    self.unguarded_non_final.setdefault(event, {})[src] = None
        return _some_states(clash)

    def add_wildcard(self, event: str, unguarded: bool) -> str:
        """A ``from: "*"`` transition of ``event``: as :meth:`add`."""
        wildcard = self.wildcard.get(event)
        clash: Collection[str]
        if wildcard is not None and (unguarded or wildcard):
            clash = self.non_final  # an earlier "*" left every one of them
        elif unguarded:
            clash = self.named_non_final.get(event, {}).keys()
        else:
            clash = self.unguarded_non_final.get(event, {}).keys()
        self.wildcard[event] = bool(wildcard) or unguarded
        return _some_states(clash)


def _some_states(states: Collection[str], shown: int = 5) -> str:
    """``'a', 'b'``: the first ``shown`` names, then how many more there are."""
    text = ", ".join(map(repr, itertools.islice(states, shown)))
    if len(states) > shown:
        text += f" and {len(states) - shown} more states"
    return text


def migration_problems(old: Definition, new: Definition) -> list[tuple[tuple[Any, ...], str]]:
    """What is wrong with ``new.migrates_from`` given the old version ``old``: every
    state of ``old`` must be mapped, and facts that carry over must keep their type."""
    m = new.migrates_from
    if m is None or m.version != old.version or old.id != new.id:
        return []
    problems: list[tuple[tuple[Any, ...], str]] = []
    missing = [s for s in old.states if s not in m.states]
    if missing:
        problems.append(
            (
                ("migrates_from", "states"),
                f"states of version {old.version} not mapped: {', '.join(missing)}",
            )
        )
    for s in m.states:
        if s not in old.states:
            problems.append(
                (
                    ("migrates_from", "states", s),
                    f"version {old.version} has no state {s!r}",
                )
            )
    for old_name, spec in old.facts.items():
        new_name = m.facts.get(old_name, old_name)
        target = new.facts.get(new_name)
        if target is None:
            continue  # dropped
        if not fits(type_of_spec(spec), type_of_spec(target)):
            problems.append(
                (
                    ("migrates_from", "facts", old_name)
                    if old_name in m.facts
                    else ("facts", new_name),
                    f"fact {old_name!r} ({_describe_fact(spec)}) cannot become {new_name!r} "
                    f"({_describe_fact(target)})",
                )
            )
    for old_name in m.facts:
        if old_name not in old.facts:
            problems.append(
                (
                    ("migrates_from", "facts", old_name),
                    f"version {old.version} has no fact {old_name!r}",
                )
            )
    return problems


def _literal_length(value: Any) -> int | None:
    """The number of items of a literal list effect (YAML list or list text), if it is one."""
    if isinstance(value, tuple):
        return len(value)
    if isinstance(value, str):
        import ast

        try:
            node = ast.parse(value.strip(), mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        if isinstance(node, (ast.List, ast.Tuple)):
            return len(node.elts)
    return None


_INT_TEXT = re.compile(r"-?[0-9]{1,19}")
"""An effect written as a plain int (longer ones are out of range: the compiler says so)."""


def _describe_fact(spec: Any) -> str:
    if spec.type == "enum":
        return "enum of " + ", ".join(spec.values)
    return str(type_of_spec(spec))


def _effect_source(value: Any, spec: Any) -> str:
    """The expression text of an effect. For an enum fact, a bare value name such as
    ``support: coaching`` means that value."""
    if isinstance(value, str):
        if spec is not None and spec.type == "enum" and value.strip() in spec.values:
            return repr(value.strip())
        return value
    return literal_source(value)


def _check_texts(a: _Analyzer) -> None:
    """``control-character``: no C0/C1 control character (nor DEL) in a text of the
    definition. A title is one line: no tab or line feed either. Descriptions, string
    defaults and expressions may hold tab and line feed (multi-line YAML blocks)."""
    d = a.definition
    described: list[tuple[tuple[Any, ...], Any]] = [((), d)]
    for kind in ("roles", "facts", "consents", "states", "activities"):
        described.extend(((kind, name), item) for name, item in getattr(d, kind).items())
    expressions: list[tuple[tuple[Any, ...], str, str]] = []
    for i, t in a.transitions():
        where = ("transitions", i)
        described.append((where, t))
        described.extend(((*where, "input", n), spec) for n, spec in t.input.items())
        if t.when is not None:
            expressions.append(((*where, "when"), t.when, "the guard"))
        expressions.extend(
            ((*where, "set", fact), v, f"the value for {fact!r}")
            for fact, v in t.set.items()
            if isinstance(v, str)
        )
    for name, activity in d.activities.items():
        at: tuple[Any, ...] = ("activities", name)
        described.extend(((*at, "input", n), spec) for n, spec in activity.input.items())
        for key in ("when", "expected"):
            source = getattr(activity, key)
            if source is not None:
                expressions.append(((*at, key), source, f"the {key!r} expression"))
    for name, role in d.roles.items():
        for key in ("on_assign", "on_unassign"):
            hook = getattr(role, key)
            for fact, v in hook.set.items() if hook is not None else ():
                if isinstance(v, str):
                    hook_at = ("roles", name, key, "set", fact)
                    expressions.append((hook_at, v, f"the value for {fact!r}"))

    # a control character outside a string literal is a guard-syntax error already: one
    # diagnostic per mistake
    compiled_wrong = {(d.line, d.column) for d in a.diagnostics if d.code == "guard-syntax"}

    def check(
        text: str, path: tuple[Any, ...], what: str, multiline: bool, expression: bool = False
    ) -> None:
        found = control_character(text, multiline=multiline)
        if found is not None:
            if expression:
                mark = a.parsed.locate(path)
                if (mark.line or 1, mark.column or 1) in compiled_wrong:
                    return
            rule = (
                "a title is one line of printable text"
                if not multiline
                else "a text may be broken up by tab and line feed only"
            )
            message = f"{what} contains the control character {found}: {rule}"
            a.report("control-character", message, path)

    for path, item in described:
        for key, multiline in (("title", False), ("description", True)):
            text = getattr(item, key)
            if isinstance(text, str):
                check(text, (*path, key), f"the {key}", multiline)
            elif text is not None:
                for language, value in text.items():
                    check(value, (*path, key, language), f"the {key} ({language})", multiline)
        default = getattr(item, "default", None) if "default" in type(item).model_fields else None
        if isinstance(default, str):
            check(default, (*path, "default"), "the default", True)
        elif isinstance(default, tuple):
            for j, value in enumerate(default):
                if isinstance(value, str):
                    check(value, (*path, "default", j), "the default", True)
    for path, source, what in expressions:
        check(source, path, what, True, expression=True)


def analyze(parsed: ParsedDefinition) -> CompiledDefinition | None:
    """Run every semantic check on ``parsed``; add the diagnostics to it.

    Returns the compiled definition when the whole file was valid and no check failed.
    """
    definition = parsed.definition
    if definition is None:
        return None
    analyzer = _Analyzer(parsed, definition)
    analyzer.check_names()
    analyzer.check_references()
    activity_guards = analyzer.check_activities()
    _check_texts(analyzer)
    analyzer.check_migration_targets()
    if parsed.graph_complete:
        analyzer.check_graph()
    if parsed.references_complete:
        analyzer.check_unused()
    parsed.diagnostics.extend(analyzer.diagnostics)
    parsed.diagnostics.sort(key=sort_key)
    if any(d.is_error for d in parsed.diagnostics):
        return None
    return CompiledDefinition(
        definition,
        analyzer.compiled,
        activity_guards,
        dict(analyzer.expected),
        dict(analyzer.role_effects),
    )
