"""``confidential-flow``: a confidential input never decides, unannounced, what every
participant reads.

The state of a trajectory, its facts, and which records its history holds are shown to
every participant; only input values are redacted (:mod:`coachflow.runtime.access`). An
input field with ``visible_to`` or ``disclose_to`` is *confidential*. Its value can still
reach the others without being copied (copying is ``confidential-effect``,
:mod:`.expressions`):

* **through a guard**: a guard that reads it decides whether, and where, its event moves
  the trajectory, so the state after the event, the record of it and the facts the
  transition sets all depend on the value (a guard that picks ``worrying`` over
  ``coaching`` tells the director what the coach's note said);
* **through an activity's guard**: a guard of an activity that reads the activity's own
  input decides whether the activity is recorded, so ``done.<activity>`` and
  ``count.<activity>`` (which every participant reads) depend on the value, and so does
  whatever a guard or effect that reads them decides;
* **through facts**, transitively: a fact set from such a fact (or by a transition whose
  firing depends on such a fact, or on a state that does, or on whether an activity was
  recorded) depends on the input too.

:func:`flow_analysis` follows them all, for every input of every transition and activity,
over the compiled expressions (what each reads: :attr:`Compiled.inputs`,
:attr:`Compiled.facts`, :attr:`Compiled.activities`): a dependency graph of facts, states,
activities and transitions, closed once (in time linear in its size). Where a guard reads
a confidential input that some role of the definition may not always read,
:func:`check_flows` reports ``confidential-flow`` at the guard; a transition's or an
activity's ``declassifies: {field: reason}`` allows it (nothing then depends on that field
of that transition or activity). A declassification names an input field of its
transition or activity (``unknown-input`` otherwise) and its reason holds no control
character (``control-character``). Activities have no effects (``set``), so an activity's
input reaches the others through its guard only.

What the analysis finds is kept on the compiled definition
(:attr:`~coachflow.definition.compiled.CompiledDefinition.derived_facts`), so that the
runtime can hide such facts from a viewer who may not read their source
(:mod:`coachflow.runtime.flows`), once per definition version.

A value carried over from an older version by a migration is not analysed here (a
version does not know the versions before it): the runtime follows it, through the
older version's analysis, the migration's renames and :func:`fact_dependencies`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from coachflow._bounds import control_character
from coachflow.definition.checks.context import Context, YamlPath
from coachflow.definition.compiled import CompiledTransition, FlowSource
from coachflow.definition.expressions import Compiled
from coachflow.definition.model import Activity, Definition, Transition
from coachflow.definition.plain import Label, Rule, may_read, rule_of
from coachflow.diagnostics import ERROR

Taint = frozenset[FlowSource]
_CLEAN: Taint = frozenset()


@dataclass(frozen=True, slots=True)
class Flows:
    """What depends on which confidential inputs."""

    facts: Mapping[str, Taint]
    """Each fact that depends on a confidential input -> those inputs."""
    states: Mapping[str, Taint]
    """Each state whether the trajectory is in it depends on a confidential input ->
    those inputs."""
    guards: Mapping[int, Taint]
    """Each transition whose guard reads a confidential input itself -> those inputs."""
    activities: Mapping[str, Taint]
    """Each activity whose guard reads a confidential input of its own -> those inputs."""


NO_FLOWS = Flows({}, {}, {}, {})


def always_reads(label: Label, role: str) -> bool:
    """Whether a holder of ``role`` reads a value with ``label`` whatever the consents
    (a ``disclose_to`` role reads it only while its consent is granted)."""
    return may_read(label, (role,), {})


def check_flows(
    ctx: Context,
    transitions: Sequence[CompiledTransition],
    role_effects: Mapping[tuple[str, str], Mapping[str, Compiled]],
    activity_guards: Mapping[str, Compiled | None],
) -> Mapping[str, Taint]:
    """Report the guards that let a confidential input decide what everyone reads, and
    the problems of each ``declassifies``; the facts that depend on a confidential input."""
    d = ctx.definition
    for i, t in ctx.transitions:
        _check_declassifies(ctx, t, ("transitions", i), "transition")
    for name, activity in d.activities.items():
        _check_declassifies(ctx, activity, ("activities", name), "activity")
    flows = flow_analysis(d, transitions, role_effects, activity_guards)
    by_index = dict(ctx.transitions)
    for i, read in sorted(flows.guards.items()):
        hidden = _hidden(d, read)
        if hidden:
            message = _message(d, by_index[i], hidden)
            ctx.report("confidential-flow", ERROR, message, ("transitions", i, "when"))
    for name, read in flows.activities.items():  # in file order
        hidden = _hidden(d, read)
        if hidden:
            message = _activity_message(d, name, hidden)
            ctx.report("confidential-flow", ERROR, message, ("activities", name, "when"))
    return flows.facts


def _check_declassifies(
    ctx: Context, owner: Transition | Activity, where: YamlPath, kind: str
) -> None:
    """Each field of ``owner``'s ``declassifies`` is one of its inputs, and each reason
    holds no control character."""
    for name, reason in owner.declassifies.items():
        at = (*where, "declassifies", name)
        if name not in owner.input:
            declared = ", ".join(owner.input) or "none"
            ctx.report(
                "unknown-input",
                ERROR,
                f"declassifies {name!r}, which is not an input field of this {kind} "
                f"(its fields: {declared})",
                at,
                key=True,
            )
        found = control_character(reason, multiline=True)
        if found is not None:
            ctx.report(
                "control-character",
                ERROR,
                f"the reason contains the control character {found}: "
                "a text may be broken up by tab and line feed only",
                at,
            )


def _hidden(d: Definition, read: Taint) -> list[FlowSource]:
    """The sources in ``read`` that some role of ``d`` may not always read, by field."""
    return [
        s
        for s in sorted(read, key=lambda s: s.field)
        if not all(always_reads(s.label, role) for role in d.roles)
    ]


def _kept_from(d: Definition, sources: Sequence[FlowSource]) -> list[str]:
    """The roles that may not always read every one of ``sources``, each with the
    consents that would let it where consents would (``'director' (without consent
    'share_reports')``)."""
    who = []
    for role in d.roles:
        consents: dict[str, None] = {}
        by_consent = True
        for source in sources:
            if always_reads(source.label, role):
                continue
            for rule in source.label:
                if always_reads((rule,), role):
                    continue
                found = [c for r, c in rule.disclose_to if r == role]
                consents.update(dict.fromkeys(found))
                by_consent = by_consent and bool(found)
        if consents and by_consent:
            who.append(f"{role!r} (without consent {', '.join(map(repr, consents))})")
        elif consents or not by_consent:
            who.append(repr(role))
    return who


def _message(d: Definition, t: Transition, hidden: Sequence[FlowSource]) -> str:
    sources = d.sources(t)
    if sources == (t.to,):
        decides = f"whether {t.event!r} is recorded in {t.to!r}"
    else:
        start = "any state" if t.from_any else ", ".join(map(repr, sources))
        decides = f"whether {t.event!r} moves the trajectory from {start} to {t.to!r}"
    if t.set:
        decides += f" and sets {', '.join(t.set)}"
    return _said(d, decides, hidden)


def _activity_message(d: Definition, name: str, hidden: Sequence[FlowSource]) -> str:
    decides = f"whether activity {name!r} is recorded (done.{name}, count.{name})"
    return _said(d, decides, hidden)


def _said(d: Definition, decides: str, hidden: Sequence[FlowSource]) -> str:
    fields = ", ".join(repr(s.field) for s in hidden)
    one = len(hidden) == 1
    who = ", ".join(_kept_from(d, hidden))
    first = hidden[0].field
    return (
        f"the guard reads the confidential input{'' if one else 's'} {fields}, so it decides "
        f"{decides}, which every participant sees; {who} may not read "
        f"{fields}. Leave {'it' if one else 'them'} out of the guard, or declare why "
        f"{'it' if one else 'they'} may be revealed: declassifies: {{{first}: <reason>}}"
    )


def flow_analysis(
    d: Definition,
    transitions: Sequence[CompiledTransition],
    role_effects: Mapping[tuple[str, str], Mapping[str, Compiled]] | None = None,
    activity_guards: Mapping[str, Compiled | None] | None = None,
) -> Flows:
    """Which facts and states depend on which confidential inputs, and which guards read
    one. ``transitions`` are compiled in the order of ``d.transitions``; each keeps its
    place in the file (:attr:`CompiledTransition.index`), which the results name. Without
    ``activity_guards`` (the compiled guard of each activity) the inputs of activities
    are not followed."""
    # (event, target, field) of every confidential spec: a value of the field that such a
    # transition can write in the same record is confidential too (the strictest wins)
    secret = {
        (t.event, t.to, name)
        for t in d.transitions
        for name, spec in t.input.items()
        if spec.confidential
    }
    activity_guards = activity_guards or {}
    by_activity = _activity_sources(d, activity_guards)
    if not secret and not by_activity:
        return NO_FLOWS  # no confidential input read at all: the usual case, at once
    labels = _Labels(d)
    own: dict[int, dict[str, FlowSource]] = {}
    for k, ct in enumerate(transitions):  # in the order of d.transitions
        t = d.transitions[k]
        read = {n for e in (ct.guard, *ct.effects.values()) if e is not None for n in e.inputs}
        for name in t.input:
            if name in read and name not in t.declassifies and (t.event, t.to, name) in secret:
                label = labels.of(k, name)
                if label:
                    source = FlowSource(ct.index, t.event, name, label)
                    own.setdefault(k, {})[name] = source
    if not own and not by_activity:
        return NO_FLOWS  # no expression reads a confidential input
    return _propagate(d, transitions, own, by_activity, role_effects or {}, activity_guards)


def _activity_sources(
    d: Definition, activity_guards: Mapping[str, Compiled | None]
) -> dict[str, dict[str, FlowSource]]:
    """Each activity whose guard reads a confidential input of its own that it does not
    declassify -> those inputs, by field (an activity's input is written in its own
    record only, so its label is its own spec's rule)."""
    found: dict[str, dict[str, FlowSource]] = {}
    for name, activity in d.activities.items():
        guard = activity_guards.get(name)
        if guard is None or not guard.inputs:
            continue
        for field, spec in activity.input.items():
            if field in guard.inputs and spec.confidential and field not in activity.declassifies:
                source = FlowSource(None, name, field, (rule_of(spec),))
                found.setdefault(name, {})[field] = source
    return found


Node = tuple[str, str | int]
"""A node of the dependency graph: ``("fact", name)``, ``("state", name)``, ``("done",
activity)`` (whether, and how often, it was recorded), ``("guard", k)`` (the guard of
transition ``k``), ``("fired", k)`` (whether transition ``k`` fired), and two for
``from: "*"``: ``("any", "in")`` (being in some non-final state) and ``("any", "out")``
(what every non-final state depends on)."""

_ANY_IN: Node = ("any", "in")
_ANY_OUT: Node = ("any", "out")


def _propagate(
    d: Definition,
    transitions: Sequence[CompiledTransition],
    own: Mapping[int, Mapping[str, FlowSource]],
    by_activity: Mapping[str, Mapping[str, FlowSource]],
    role_effects: Mapping[tuple[str, str], Mapping[str, Compiled]],
    activity_guards: Mapping[str, Compiled | None],
) -> Flows:
    """What each fact and state depends on: the graph of :func:`_dependencies`, each
    confidential input seeded where it is read, and every node's sources the union over
    the nodes that reach it. It is closed once, component by component (a set of sources
    is an int, one bit each), so a definition of thousands of transitions takes no longer
    than its other checks."""
    bit: dict[FlowSource, int] = {}
    for fields in (*own.values(), *by_activity.values()):
        for source in fields.values():
            bit[source] = 1 << len(bit)
    graph, guards = _dependencies(
        d, transitions, role_effects, activity_guards, own, by_activity, bit
    )
    closed = graph.closure()
    sources = sorted(bit, key=bit.__getitem__)
    made: dict[int, Taint] = {0: _CLEAN}  # one set per distinct set of bits, shared

    def taint(node: Node) -> Taint:
        bits = closed.get(node, 0)
        found = made.get(bits)
        if found is None:
            members = []
            rest = bits
            while rest:
                lowest = rest & -rest
                members.append(sources[lowest.bit_length() - 1])
                rest ^= lowest
            found = made[bits] = frozenset(members)
        return found

    return Flows(
        facts={f: found for f in d.facts if (found := taint(("fact", f)))},
        states={s: found for s in d.states if (found := taint(("state", s)))},
        guards=guards,
        activities={name: frozenset(fields.values()) for name, fields in by_activity.items()},
    )


def _dependencies(
    d: Definition,
    transitions: Sequence[CompiledTransition],
    role_effects: Mapping[tuple[str, str], Mapping[str, Compiled]],
    activity_guards: Mapping[str, Compiled | None],
    own: Mapping[int, Mapping[str, FlowSource]],
    by_activity: Mapping[str, Mapping[str, FlowSource]],
    bit: Mapping[FlowSource, int],
) -> tuple[_Graph, dict[int, Taint]]:
    """The dependency graph of a definition: an edge from what a value is computed from
    to the value, with a node per fact, state, activity and transition, and edges in
    proportion to what the expressions read (a ``from: "*"`` is not expanded); each
    confidential input of ``own`` and ``by_activity`` seeded with its ``bit`` where it is
    read. Also each transition whose guard reads one of them -> those inputs."""
    graph = _Graph()

    def reads(expr: Compiled | None, into: Node, inputs: Mapping[str, FlowSource]) -> None:
        if expr is None:
            return
        for name in expr.inputs:
            if name in inputs:
                graph.seed(into, bit[inputs[name]])
        for fact in expr.facts:
            graph.edge(("fact", fact), into)
        for activity in expr.activities:
            graph.edge(("done", activity), into)

    guards: dict[int, Taint] = {}
    for k, ct in enumerate(transitions):  # in the order of d.transitions
        t = d.transitions[k]
        inputs = own.get(k, {})
        guard: Node = ("guard", k)
        fired: Node = ("fired", k)
        reads(ct.guard, guard, inputs)
        if ct.guard is not None and inputs:
            direct = frozenset(inputs[n] for n in ct.guard.inputs if n in inputs)
            if direct:
                guards[ct.index] = direct
        graph.edge(guard, fired)
        if t.from_any:
            graph.edge(_ANY_IN, fired)
            graph.edge(guard, _ANY_OUT)  # staying in a state depends on the guard too
        else:
            for state in d.sources(t):
                graph.edge(("state", state), fired)
                graph.edge(guard, ("state", state))
        graph.edge(fired, ("state", t.to))
        for fact, expr in ct.effects.items():
            graph.edge(fired, ("fact", fact))
            reads(expr, ("fact", fact), inputs)
    for hook in role_effects.values():
        for fact, expr in hook.items():
            reads(expr, ("fact", fact), {})
    for name, activity in d.activities.items():
        recorded: Node = ("done", name)
        if activity.during is None:
            graph.edge(_ANY_IN, recorded)
        else:
            for state in activity.during:
                graph.edge(("state", state), recorded)
        reads(activity_guards.get(name), recorded, by_activity.get(name, {}))
    for name, spec in d.states.items():
        if not spec.final:
            graph.edge(("state", name), _ANY_IN)
            graph.edge(_ANY_OUT, ("state", name))

    return graph, guards


def fact_dependencies(
    d: Definition,
    transitions: Sequence[CompiledTransition],
    role_effects: Mapping[tuple[str, str], Mapping[str, Compiled]],
    activity_guards: Mapping[str, Compiled | None],
) -> Mapping[str, frozenset[str]]:
    """Each fact -> the facts its value may depend on, itself included: through effects
    that read them, guards, states and activities, as :func:`flow_analysis` follows a
    confidential input. What a value carried over by a migration from a fact an older
    version derived from a confidential input reaches in this version (the runtime hides
    it, :mod:`coachflow.runtime.flows`)."""
    graph, _ = _dependencies(d, transitions, role_effects, activity_guards, {}, {}, {})
    names = list(d.facts)
    for i, fact in enumerate(names):
        graph.seed(("fact", fact), 1 << i)
    closed = graph.closure()
    found: dict[str, frozenset[str]] = {}
    for fact in names:
        bits = closed.get(("fact", fact), 0)
        found[fact] = frozenset(names[i] for i in range(bits.bit_length()) if bits >> i & 1)
    return found


class _Graph:
    """A directed graph whose nodes hold sets of bits, and their closure."""

    def __init__(self) -> None:
        self.index: dict[Node, int] = {}
        self.nodes: list[Node] = []
        self.succ: list[list[int]] = []
        self.bits: list[int] = []

    def _id(self, node: Node) -> int:
        found = self.index.get(node)
        if found is None:
            found = self.index[node] = len(self.nodes)
            self.nodes.append(node)
            self.succ.append([])
            self.bits.append(0)
        return found

    def edge(self, u: Node, v: Node) -> None:
        self.succ[self._id(u)].append(self._id(v))

    def seed(self, node: Node, bits: int) -> None:
        self.bits[self._id(node)] |= bits

    def closure(self) -> dict[Node, int]:
        """Each node -> the bits of every node that reaches it (itself included): the
        strongly connected components (Tarjan's algorithm, without recursion), each
        closed once, in topological order."""
        n = len(self.nodes)
        succ = self.succ
        order = [0] * n  # 0: not visited yet; else 1 + the visit number
        low = [0] * n
        on_stack = [False] * n
        stack: list[int] = []
        component = [-1] * n
        components: list[list[int]] = []  # sinks first
        counter = 0
        for root in range(n):
            if order[root]:
                continue
            work = [(root, 0)]
            while work:
                v, i = work.pop()
                if i == 0:
                    counter += 1
                    order[v] = low[v] = counter
                    stack.append(v)
                    on_stack[v] = True
                if i < len(succ[v]):
                    work.append((v, i + 1))
                    w = succ[v][i]
                    if not order[w]:
                        work.append((w, 0))
                    elif on_stack[w]:
                        low[v] = min(low[v], order[w])
                    continue
                for w in succ[v]:  # done with v: take the low links of its tree children
                    if on_stack[w] and component[w] == -1:
                        low[v] = min(low[v], low[w])
                if low[v] == order[v]:
                    members = []
                    while True:
                        w = stack.pop()
                        on_stack[w] = False
                        component[w] = len(components)
                        members.append(w)
                        if w == v:
                            break
                    components.append(members)
        value = [0] * len(components)
        for c in range(len(components) - 1, -1, -1):  # sources first
            bits = value[c]
            for v in components[c]:
                bits |= self.bits[v]
            value[c] = bits
            if bits:
                for v in components[c]:
                    for w in succ[v]:
                        if component[w] != c:
                            value[component[w]] |= bits
        return {node: value[component[i]] for i, node in enumerate(self.nodes)}


class _Labels:
    """The label each value of a transition's input is written with: the rule of every
    confidential spec of the field on a transition that can write the same record (the
    same event and target, from a state both leave)."""

    def __init__(self, d: Definition) -> None:
        self.d = d
        self.alike: dict[tuple[str, str], list[int]] = {}
        for i, t in enumerate(d.transitions):
            self.alike.setdefault((t.event, t.to), []).append(i)

    def of(self, index: int, name: str) -> tuple[Rule, ...]:
        d = self.d
        t = d.transitions[index]
        mine = set(d.sources(t))
        rules: dict[Rule, None] = {}
        for j in self.alike[(t.event, t.to)]:
            other = d.transitions[j]
            spec = other.input.get(name)
            if spec is None or not spec.confidential:
                continue
            if j == index or not mine.isdisjoint(d.sources(other)):
                rules[rule_of(spec)] = None
        return tuple(rules)
