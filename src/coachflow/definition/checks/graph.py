"""The state graph: no transition leaves a final state (``final-has-exit``), an event
leaves a state through one transition unless each has a guard (``ambiguous-transition``),
and every state is reachable and can reach a final state (``unreachable-state``,
``dead-end``, ``no-final-path``): two searches of the standard library over adjacency
lists (not networkx: importing it takes longer than checking a definition).

Sound only when no state and no transition was left out as invalid
(:attr:`~coachflow.definition.parsed.ParsedDefinition.graph_complete`). A ``from: "*"``
transition is never expanded into one edge per non-final state: the ambiguity check keeps
it once per event, and the reachability graph gives it one virtual node that every
non-final state leads to, so both take time in proportion to the states plus the
transitions, not their product.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from coachflow.definition.checks.context import Context
from coachflow.definition.plain import expand_sources
from coachflow.diagnostics import ERROR


def check_exits(ctx: Context) -> None:
    """``final-has-exit`` and ``ambiguous-transition``, transition by transition."""
    d = ctx.definition
    finals = d.final_states
    ambiguity = _Ambiguity(tuple(n for n, s in d.states.items() if not s.final))
    for i, t in ctx.transitions:
        if isinstance(t.from_, str) and t.from_ in finals:
            ctx.report(
                "final-has-exit",
                ERROR,
                f"transition {t.event!r} leaves final state {t.from_!r}",
                ("transitions", i, "from"),
            )
        elif isinstance(t.from_, tuple):
            for j, src in enumerate(t.from_):
                if src in finals:
                    ctx.report(
                        "final-has-exit",
                        ERROR,
                        f"transition {t.event!r} leaves final state {src!r}",
                        ("transitions", i, "from", j),
                    )
        if t.from_any:
            ambiguous_with = ambiguity.add_wildcard(t.event, t.when is None)
        else:
            sources = (s for s in expand_sources(t.from_, d.states) if s in d.states)
            ambiguous_with = ambiguity.add(t.event, sources, t.when is None, finals)
        if ambiguous_with:
            ctx.report(
                "ambiguous-transition",
                ERROR,
                f"event {t.event!r} already leaves {ambiguous_with} "
                "through an earlier transition, and not every one of them has a guard "
                "('when') to choose between them",
                ("transitions", i, "event"),
            )


def check_reachability(ctx: Context) -> None:
    """``unreachable-state``, ``dead-end`` and ``no-final-path`` (nothing to say when
    the initial state is not declared: that is ``unknown-initial``)."""
    d = ctx.definition
    if d.initial not in d.states:
        return
    finals = d.final_states
    # One edge per source state, except that the from: "*" transitions leave one node
    # that every non-final state leads to: the same paths, in states + transitions edges.
    anywhere = None  # the node of the from: "*" transitions (never a state's name)
    forward: dict[str | None, list[str | None]] = {name: [] for name in d.states}
    backward: dict[str | None, list[str | None]] = {name: [] for name in d.states}
    for t in d.transitions:
        if t.to not in d.states:
            continue
        if t.from_any:
            forward.setdefault(anywhere, []).append(t.to)
            backward[t.to].append(anywhere)
        else:
            for source in expand_sources(t.from_, d.states):
                if source in d.states:
                    forward[source].append(t.to)
                    backward[t.to].append(source)
    if anywhere in forward:
        backward[anywhere] = []
        for name, s in d.states.items():
            if not s.final:
                forward[name].append(anywhere)
                backward[anywhere].append(name)
    reachable = _search(forward, [d.initial])
    reaches_final = _search(backward, finals)  # one search backwards from every final state
    for name, state in d.states.items():
        path = ("states", name)
        if name not in reachable:
            ctx.report(
                "unreachable-state",
                ERROR,
                f"state {name!r} cannot be reached from the initial state {d.initial!r}",
                path,
                key=True,
            )
        if state.final:
            continue
        if not forward[name]:
            ctx.report(
                "dead-end",
                ERROR,
                f"state {name!r} is not final and no transition leaves it",
                path,
                key=True,
            )
        elif name not in reaches_final:
            ctx.report(
                "no-final-path",
                ERROR,
                f"no final state can be reached from state {name!r}",
                path,
                key=True,
            )


def _search(
    edges: Mapping[str | None, list[str | None]], start: Iterable[str | None]
) -> set[str | None]:
    """Every node reachable from ``start`` along ``edges``, ``start`` included."""
    seen = set(start)
    todo = list(seen)
    while todo:
        for node in edges.get(todo.pop(), ()):
            if node not in seen:
                seen.add(node)
                todo.append(node)
    return seen


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
