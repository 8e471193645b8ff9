"""How fast is validation? Benchmarks for the speed targets of issue #3.

Run from anywhere (paths are resolved from this file)::

    python benchmarks/bench_validate.py            # everything: 2-3 minutes, more when busy
    python benchmarks/bench_validate.py --quick    # fewer runs, no scaling sweep

Targets (the script prints PASS/FAIL; it is never part of the test suite):

* ``validate_text`` of a generated definition of 1,000 states and 3,000 transitions: < 1 s;
* ``coachflow validate definitions/`` as a fresh process (interpreter start included): < 0.5 s.

Besides the table it prints where the time goes: an import-time breakdown and the phases
of a ``coachflow validate`` process, the phases of validating the 1,000-state definition,
a cProfile of it, and how each phase grows from 250 to 4,000 states.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import itertools
import math
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"
SEED = 20260901

TARGET_LARGE_S = 1.0
TARGET_CLI_S = 0.5
CLOSE = 0.8
"""A figure above this share of its target passes, but is reported as close."""


# --- a generated definition ------------------------------------------------------------------

ROLES = ("coachee", "adviser", "manager", "client")
FACTS: dict[str, dict[str, Any]] = {
    "sessions": {"type": "int", "default": 0, "min": 0},
    "support": {"type": "enum", "values": ["consult", "coaching", "training"]},
    "level": {"type": "enum", "values": ["a1", "a2", "b1", "b2"], "default": "a1"},
    "goals_agreed": {"type": "bool", "default": False},
    "period_end": {"type": "date"},
    "notes": {"type": "str"},
}
GUARDS = (
    "sessions < 5 and consent.written_report",
    "support == 'coaching'",
    "goals_agreed or sessions >= 3",
    'period_end is not None and period_end > date("2026-09-01")',
    "level in ['a1', 'a2'] and not goals_agreed",
    "has_signed_contract() and support is not None",
    "notes is None or sessions - 1 >= 0",
    "level != 'b2' and (support == 'consult' or support == 'training')",
)
EFFECTS: tuple[dict[str, Any], ...] = (
    {"sessions": "sessions + 1"},
    {"goals_agreed": True},
    {"support": "coaching", "sessions": 0},
    {"level": "'b1'", "notes": "'promoted'"},
    {"period_end": 'date("2027-01-31")'},
    {"notes": None},
)


def generate_definition(n_states: int = 1000, n_transitions: int = 3000, seed: int = SEED) -> str:
    """The YAML text of a valid definition with exactly ``n_states`` states and
    ``n_transitions`` transitions; the same text for the same arguments.

    A spine ``s00000 -> s00001 -> ... -> done`` makes every state reachable from the
    initial one and the final state reachable from every state. The other transitions
    join random states, with guards (70 %), effects, inputs, lists of sources and one
    ``from: "*"``; an event leaves a state twice only when every such transition is
    guarded. Every role, fact and consent is used: no warnings.
    """
    import yaml

    if n_states < 3 or n_transitions < n_states:
        raise ValueError("need at least 3 states and as many transitions as states")
    rng = random.Random(seed)
    working = [f"s{i:05d}" for i in range(n_states - 2)]  # the non-final states
    targets = [*working, "done"]  # "withdrawn" is only reached through withdraw
    states: dict[str, Any] = {
        name: {"title": {"nl": f"Fase {i}", "en": f"Phase {i}"}} for i, name in enumerate(working)
    }
    states["done"] = {"title": {"nl": "Afgerond", "en": "Completed"}, "final": True}
    states["withdrawn"] = {"title": {"nl": "Ingetrokken", "en": "Withdrawn"}, "final": True}

    transitions: list[dict[str, Any]] = []
    unguarded: dict[tuple[str, str], bool] = {}  # (event, source) -> an unguarded one leaves

    def sources_of(t: dict[str, Any]) -> list[str]:
        return (
            working
            if t["from"] == "*"
            else [t["from"]]
            if isinstance(t["from"], str)
            else t["from"]
        )

    def add(t: dict[str, Any]) -> None:
        for src in sources_of(t):
            unguarded[(t["event"], src)] = unguarded.get((t["event"], src), False) or (
                "when" not in t
            )
        transitions.append(t)

    for i, src in enumerate(working):  # the spine
        add({"event": "advance", "from": src, "to": targets[i + 1], "by": ["adviser"]})
    add({"event": "withdraw", "from": "*", "to": "withdrawn", "by": ["coachee", "manager"]})

    events = [f"event_{k:02d}" for k in range(60)]
    while len(transitions) < n_transitions:
        k = len(transitions)
        t: dict[str, Any] = {
            "event": rng.choice(events),
            "title": {"nl": f"Stap {k}", "en": f"Step {k}"},
            "from": rng.sample(working, rng.randint(2, 4))
            if rng.random() < 0.1
            else rng.choice(working),
            "to": rng.choice(targets),
            "by": rng.sample(ROLES, rng.randint(1, 2)),
        }
        if rng.random() < 0.7:
            t["when"] = rng.choice(GUARDS)
        if rng.random() < 0.1:
            t["input"] = {
                "held_on": {"type": "date", "required": True},
                "remark": {"type": "str"},
            }
            t["when"] = "input.held_on is not None" + (f" and ({t['when']})" if "when" in t else "")
            t["set"] = {"period_end": "input.held_on", "notes": "input.remark"}
        elif rng.random() < 0.5:
            t["set"] = dict(rng.choice(EFFECTS))
        if any(
            (t["event"], s) in unguarded and ("when" not in t or unguarded[(t["event"], s)])
            for s in sources_of(t)
        ):
            continue  # it would be an ambiguous-transition: draw another one
        add(t)

    definition = {
        "coachflow": 1,
        "id": f"generated-{n_states}",
        "version": 1,
        "title": {"nl": "Gegenereerd traject", "en": "Generated trajectory"},
        "roles": {r: {"title": r.capitalize()} for r in ROLES},
        "facts": FACTS,
        "consents": {
            "written_report": {"granted_by": "coachee", "title": "Schriftelijk eindverslag"}
        },
        "predicates": ["has_signed_contract"],
        "initial": working[0],
        "states": states,
        "transitions": transitions,
    }
    header = f"# generated by benchmarks/bench_validate.py (seed {seed})\n"
    return header + yaml.safe_dump(
        definition, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )


def wildcard_definition(n_states: int = 3000, n_wildcards: int = 3000) -> str:
    """The hostile file of issue 11 (about 220 kB): states ``s0000`` ... (the last one
    final) and ``n_wildcards`` transitions ``from: "*"``, each of its own event, the
    i-th to state i. Expanded, that is one edge per state and wildcard: 9 million."""
    lines = ["coachflow: 1", "id: wildcards", "version: 1", "roles:", "  coach: {}"]
    lines += ["initial: s0000", "states:"]
    for i in range(n_states):
        lines.append(f"  s{i:04}: {{final: true}}" if i == n_states - 1 else f"  s{i:04}: {{}}")
    lines.append("transitions:")
    for i in range(n_wildcards):
        lines += [f"  - event: e{i:04}", '    from: "*"', f"    to: s{i % n_states:04}"]
        lines.append("    by: [coach]")
    return "\n".join(lines) + "\n"


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Timing:
    runs: list[float]
    cpu: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def show(self) -> str:
        return f"{fmt_s(self.best)} / {fmt_s(self.median)}"

    def show_cpu(self) -> str:
        return fmt_s(statistics.median(self.cpu)) if self.cpu else "-"


def measure(fn: Callable[[], object], runs: int, warmup: int = 1) -> Timing:
    for _ in range(warmup):
        fn()
    timing = Timing([])
    for _ in range(runs):
        cpu, start = time.process_time(), time.perf_counter()
        fn()
        timing.runs.append(time.perf_counter() - start)
        timing.cpu.append(time.process_time() - cpu)
    return timing


def _children_cpu() -> float:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Unix
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(cmd: Sequence[str], runs: int, env: dict[str, str], expect_status: int = 0) -> Timing:
    """Wall time (and CPU time, user + system) of ``cmd`` as a fresh process; the
    first run fills the file and bytecode caches and is not counted."""
    timing = Timing([])
    for i in range(runs + 1):
        cpu, start = _children_cpu(), time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        elapsed, cpu = time.perf_counter() - start, _children_cpu() - cpu
        if proc.returncode != expect_status:
            raise SystemExit(
                f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
            )
        if i:
            timing.runs.append(elapsed)
            timing.cpu.append(cpu)
    return timing


@dataclass
class GcStats:
    collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    seconds: float = 0.0
    _started: float = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.collections[info["generation"]] += 1
            self.seconds += time.perf_counter() - self._started

    def show(self) -> str:
        young, middle, full = self.collections
        return (
            f"{fmt_s(self.seconds)} in cyclic GC ({full} full collections, "
            f"{middle} of generation 1, {young} of generation 0)"
        )


@contextmanager
def watching_gc() -> Iterator[GcStats]:
    stats = GcStats()
    gc.callbacks.append(stats)
    try:
        yield stats
    finally:
        gc.callbacks.remove(stats)


@contextmanager
def gc_disabled() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def fmt_s(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.1f} ms"


def verdict(figure: float, target: float | None) -> str:
    if target is None:
        return "-"
    if figure >= target:
        return "FAIL"
    return "PASS (close)" if figure >= CLOSE * target else "PASS"


def print_table(rows: Sequence[tuple[str, ...]]) -> None:
    header = ("measurement", "wall: best / median", "cpu", "target", "result")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row).rstrip())


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 90 - len(title)))


# --- the command -----------------------------------------------------------------------------


def coachflow_command() -> list[str]:
    """The ``coachflow`` console script of this interpreter (not a pyenv or asdf shim,
    whose own start-up is not coachflow's), else ``python -m coachflow``."""
    bindir = Path(sys.executable).parent
    for name in ("coachflow", "coachflow.exe"):
        if (bindir / name).is_file():
            return [str(bindir / name)]
    found = shutil.which("coachflow")
    if found and "shims" not in Path(found).parts:
        return [found]
    return [sys.executable, "-m", "coachflow"]


def process_env(bytecode_cache: Path | None) -> dict[str, str]:
    """The environment of a measured process. With ``bytecode_cache``, compiled
    modules are written to and read from that directory (never into the repository),
    as after ``pip install``, which compiles every module."""
    env = dict(os.environ)
    if bytecode_cache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(bytecode_cache)
    return env


_VALIDATE_SNIPPET = (
    "import sys; from coachflow.cli import main; sys.exit(main(['validate', 'definitions/']))"
)


def import_breakdown(env: dict[str, str], top: int = 12) -> None:
    """``-X importtime`` of a whole ``coachflow validate definitions/`` run, so that the
    modules imported lazily during validation count too."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _VALIDATE_SNIPPET],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    entries: list[tuple[str, int, int, int]] = []  # name, self us, cumulative us, depth
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, raw = line.split(":", 1)[1].split("|")
        depth = (len(raw) - len(raw.lstrip(" ")) - 1) // 2
        entries.append((raw.strip(), int(self_us), int(cumulative_us), depth))
    total = sum(e[1] for e in entries)
    by_package: dict[str, int] = {}
    ancestors: list[tuple[int, str]] = []  # importtime lists a module after its imports
    for name, self_us, _, depth in reversed(entries):
        while ancestors and ancestors[-1][0] >= depth:
            ancestors.pop()
        ancestors.append((depth, name))
        owner = next((_package(n) for _, n in reversed(ancestors) if _package(n) != _OTHER), _OTHER)
        by_package[owner] = by_package.get(owner, 0) + self_us
    print(
        f"{len(entries)} modules imported, {fmt_s(total / 1e6)} in total; by package "
        "(with the standard-library modules it imports first):"
    )
    rest = 0
    for key, us in sorted(by_package.items(), key=lambda kv: -kv[1]):
        if us < 0.02 * total:
            rest += us
            continue
        print(f"  {key:<44} {fmt_s(us / 1e6):>9}  {100 * us / max(total, 1):3.0f} %")
    share = 100 * rest / max(total, 1)
    print(f"  {'the rest (under 2 % each)':<44} {fmt_s(rest / 1e6):>9}  {share:3.0f} %")
    print(f"\nimported at the top level, by cumulative time (top {top}):")
    for name, _, cumulative_us, _ in sorted((e for e in entries if e[3] == 0), key=lambda e: -e[2])[
        :top
    ]:
        print(f"  {name:<44} {fmt_s(cumulative_us / 1e6):>9}")
    print(f"\nslowest single modules, by self time (top {top}):")
    for name, self_us, _, _ in sorted(entries, key=lambda e: -e[1])[:top]:
        print(f"  {name:<44} {fmt_s(self_us / 1e6):>9}")


_OTHER = "standard library (interpreter start-up)"
_GROUPS = {"_yaml": "yaml", "site": "site and .pth files", "certifi": "site and .pth files"}


def _package(module: str) -> str:
    root = module.split(".")[0]
    if root in ("coachflow", "pydantic", "pydantic_core", "networkx", "yaml"):
        return root
    if root in _GROUPS:
        return _GROUPS[root]
    return root if root not in sys.stdlib_module_names else _OTHER


_PHASES_SNIPPET = textwrap.dedent(
    """
    import sys, time
    t0 = time.perf_counter()
    import coachflow.cli
    t1 = time.perf_counter()
    from coachflow.files.loading import definition_files, validate_file
    t2 = time.perf_counter()
    before = set(sys.modules)
    files = list(definition_files(["definitions"]))
    for f in files:
        validate_file(f)
    t3 = time.perf_counter()
    new = {m.split(".")[0] for m in set(sys.modules) - before}
    std = {m for m in new if m in sys.stdlib_module_names}
    lazy = sorted(new - std) + [f"(+{len(std)}_standard-library_packages)"]
    for f in files:
        validate_file(f)
    t4 = time.perf_counter()
    print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, ",".join(lazy) or "-")
    """
)


def cli_phases(env: dict[str, str], runs: int) -> None:
    """Where a ``coachflow validate definitions/`` process spends its time."""
    samples = []
    lazy = ""
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", _PHASES_SNIPPET],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode:
            print(f"phases unavailable (the API changed?): {proc.stderr.strip()[-300:]}")
            return
        *figures, lazy = proc.stdout.split()
        samples.append([float(x) for x in figures])
    labels = (
        "import coachflow.cli",
        "import coachflow.files.loading (pydantic, yaml; definition, files)",
        "first validation of definitions/ (lazy imports, pydantic schema)",
        "second validation of definitions/ (warm)",
    )
    print(f"median of {runs} fresh processes:")
    for i, label in enumerate(labels):
        print(f"  {label:<66} {fmt_s(statistics.median(s[i] for s in samples)):>9}")
    shown = lazy.replace(",", ", ").replace("_", " ")
    print(f"  packages first imported during the first validation: {shown}")


# --- phases, profile and scaling ---------------------------------------------------------------


def phase_functions(text: str) -> dict[str, Callable[[], object]]:
    """Each stage of ``validate_text`` on its own (private APIs: may need updating)."""
    from dataclasses import replace

    from coachflow.definition.checks import analyze
    from coachflow.definition.checks.context import Context
    from coachflow.definition.checks.expressions import (
        Names,
        compile_role_hooks,
        compile_transitions,
    )
    from coachflow.definition.checks.graph import check_exits, check_reachability
    from coachflow.definition.checks.references import check_references
    from coachflow.definition.model import Definition
    from coachflow.files.definitions import parse_definition
    from coachflow.files.reader import read_yaml

    document, _ = read_yaml(text)
    parsed = parse_definition(text)
    definition = parsed.definition
    assert definition is not None

    def references() -> None:
        check_references(Context.of(parsed, definition))

    def expressions() -> None:
        ctx = Context.of(parsed, definition)
        names = Names.of(ctx)
        compile_transitions(ctx, names)
        compile_role_hooks(ctx, names)

    def graph() -> None:
        ctx = Context.of(parsed, definition)
        check_exits(ctx)
        check_reachability(ctx)

    return {
        "read_yaml (YAML to data + marks)": lambda: read_yaml(text),
        "Definition.model_validate": lambda: Definition.model_validate(document.data),
        "analyze (every semantic check)": lambda: analyze(replace(parsed, diagnostics=[])),
        "  check_references": references,
        "  compile_transitions, _role_hooks": expressions,
        GRAPH_PHASE: graph,
    }


GRAPH_PHASE = "  check_exits, check_reachability"
"""The phase of the graph checks, which :func:`shapes` times on its own."""


def print_phases(text: str, runs: int) -> None:
    try:
        phases = phase_functions(text)
    except (ImportError, AttributeError, TypeError, AssertionError) as exc:
        print(f"phases unavailable (the private API changed?): {exc!r}")
        return
    print(f"  {'phase':<36} {'wall: best / median':>22} {'gc disabled: best':>19}")
    for name, fn in phases.items():
        timing = measure(fn, runs)
        with gc_disabled():
            quiet = measure(fn, runs)
        print(f"  {name:<36} {timing.show():>22} {fmt_s(quiet.best):>19}")


def profile(text: str, top: int) -> None:
    from coachflow import validate_text

    validate_text(text)  # warm: the pydantic schema is built on first use
    profiles = {}
    for label, context in (("as is", watching_gc), ("gc disabled", gc_disabled)):
        profiler = cProfile.Profile()
        with context() as stats:
            profiler.enable()
            validate_text(text)
            profiler.disable()
        profiles[label] = profiler
        if stats is not None:
            print(f"during the profiled run: {stats.show()}")
    for label, order, count in (
        ("as is", "cumulative", top),
        ("gc disabled", "tottime", 12),
    ):
        buffer = io.StringIO()
        stats_ = pstats.Stats(profiles[label], stream=buffer).strip_dirs().sort_stats(order)
        stats_.print_stats(count)
        lines = buffer.getvalue().splitlines()
        summary = next((s.strip() for s in lines if "function calls" in s), "")
        start = next(i for i, s in enumerate(lines) if s.lstrip().startswith("ncalls"))
        print(f"\n-- {label}, by {order} (top {count}): {summary}")
        print("\n".join(lines[start : start + count + 1]))
    print(
        "\n(cProfile charges a garbage collection to whatever function allocated when it "
        "started: with gc on, expression checking looks slower than it is.)"
    )


def growth(f1: float, f2: float, n1: int, n2: int) -> str:
    return f"{math.log(f2 / f1) / math.log(n2 / n1):.2f}" if f1 > 0 and f2 > 0 else "-"


def scaling(sizes: Sequence[int], runs: int) -> None:
    from coachflow import validate_text

    print(
        "best wall time of each phase. 'growth' is k in time ~ size**k between consecutive\n"
        "sizes: 1 is linear, 2 quadratic."
    )
    rows: list[tuple[int, dict[str, float]]] = []
    for n in sizes:
        text = generate_definition(n, 3 * n)
        diagnostics = validate_text(text)
        if diagnostics:
            print(f"  {n} states: {len(diagnostics)} diagnostics, first: {diagnostics[0].format()}")
            continue
        try:
            phases = phase_functions(text)
        except (ImportError, AttributeError, TypeError, AssertionError):
            phases = {}
        figures = {name: measure(fn, runs).best for name, fn in phases.items()}
        figures["validate_text"] = measure(lambda t=text: validate_text(t), runs).best
        with gc_disabled():
            figures["validate_text, gc disabled"] = measure(
                lambda t=text: validate_text(t), runs
            ).best
        with watching_gc() as stats:
            validate_text(text)
        figures["  cyclic GC in one validate_text"] = stats.seconds
        rows.append((n, figures))
    if not rows:
        return
    print(f"  {'':<36}" + "".join(f"{f'{n}/{3 * n}':>12}" for n, _ in rows) + "   growth")
    for name in rows[0][1]:
        cells = "".join(f"{fmt_s(fig[name]):>12}" for _, fig in rows)
        ks = [growth(f1[name], f2[name], n1, n2) for (n1, f1), (n2, f2) in itertools.pairwise(rows)]
        print(f"  {name:<36}{cells}   {' '.join(ks)}")


def shapes(runs: int) -> None:
    """Shapes the random definitions rarely have: many ``from: "*"`` transitions, and
    many guarded transitions of one event leaving one state. 'growth' compares the
    graph-check time of the two sizes of a shape (4 times as many transitions)."""
    from coachflow import validate_text

    base = generate_definition()

    def star(k: int) -> str:
        return "".join(
            f"- event: pause_{i}\n  from: '*'\n  to: withdrawn\n  by: [coachee]\n"
            "  when: goals_agreed\n"
            for i in range(k)
        )

    def same_event(k: int) -> str:
        return "".join(
            f"- event: nudge\n  from: s00001\n  to: s00002\n  by: [coachee]\n"
            f"  when: sessions > {i}\n"
            for i in range(k)
        )

    base_time = measure(lambda: validate_text(base), runs).best
    print(f"  {'':<54} {'validate_text':>14} {'graph checks':>12}")
    print(f"  {'the 1000/3000 definition':<54} {fmt_s(base_time):>14}")
    for family, make, ks in (
        ('transitions from: "*" (1000 sources each)', star, (25, 100)),
        ("guarded transitions, one event, one state", same_event, (1000, 4000)),
    ):
        graph_times: list[float] = []
        for k in ks:
            text = base + make(k)
            problems = [d for d in validate_text(text) if d.is_error]
            total = measure(lambda t=text: validate_text(t), runs).best
            try:
                graph = measure(phase_functions(text)[GRAPH_PHASE], runs).best
            except (ImportError, AttributeError, TypeError, AssertionError, KeyError):
                graph = float("nan")
            graph_times.append(graph)
            note = f"  ({len(problems)} errors!)" if problems else ""
            label = f"+ {k} {family}"
            print(f"  {label:<54} {fmt_s(total):>14} {fmt_s(graph):>12}{note}")
        k_growth = growth(graph_times[0], graph_times[1], ks[0], ks[1])
        print(f"  {'':<54} {'':>14} growth {k_growth}")


_LAUNCHER = """\
import resource, subprocess, sys, time
start = time.perf_counter()
status = subprocess.run(sys.argv[1:], capture_output=True, check=False).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(status, time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
"""
"""Runs a command and reports its status, wall and CPU time and peak resident memory.
A child's peak memory counts what its parent held when it forked, so the command is
started from this small process, not from the benchmark (which holds large
definitions)."""


def process_peak(cmd: Sequence[str], runs: int, env: dict[str, str]) -> tuple[Timing, int]:
    """As :func:`wall`, and the largest peak resident memory (bytes) of the runs."""
    timing, peak = Timing([]), 0
    for i in range(runs + 1):
        out = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, *cmd],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        status, elapsed, cpu, maxrss = int(out[0]), float(out[1]), float(out[2]), int(out[3])
        if status != 0:
            raise SystemExit(f"{' '.join(cmd)} exited {status}")
        if i:
            timing.runs.append(elapsed)
            timing.cpu.append(cpu)
            # ru_maxrss is in kilobytes on Linux, in bytes on macOS
            peak = max(peak, maxrss * (1 if sys.platform == "darwin" else 1024))
    return timing, peak


def wildcards(base: str, base_validate: Timing, runs: int, cli_runs: int, tmp: Path) -> None:
    """The hostile file of issue 11 next to the 1,000/3,000 definition, in the same run:
    validation in and out of process (with peak memory) and building an engine."""
    import tracemalloc

    from coachflow import Engine, loads_definition, validate_text

    text = wildcard_definition()
    print(
        f'{len(text):,} bytes, 3000 states, 3000 transitions from: "*" (each its own event); '
        "'x base' compares with the 1000-state, 3000-transition definition"
    )
    diagnostics = validate_text(text)
    if diagnostics:
        print(f"  {len(diagnostics)} diagnostics, first: {diagnostics[0].format()}")
    hostile = measure(lambda: validate_text(text), runs)
    tracemalloc.start()
    validate_text(text)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    files = {"base": tmp / "generated-1000.yaml", "hostile": tmp / "wildcards.yaml"}
    files["base"].write_text(base, encoding="utf-8")
    files["hostile"].write_text(text, encoding="utf-8")
    env = process_env(tmp)
    command = coachflow_command()
    cli = {
        name: process_peak([*command, "validate", str(path)], cli_runs, env)
        for name, path in files.items()
    }

    definitions = {"base": loads_definition(base), "hostile": loads_definition(text)}
    builds = {
        name: measure(lambda d=d: Engine(d, plugins=False), runs) for name, d in definitions.items()
    }
    engine = Engine(definitions["hostile"], plugins=False)
    try:  # what the transitions.Machine holds (private API: may need updating)
        machine = engine._runtime("wildcards", 1).machine
        count = sum(len(ts) for ev in machine.events.values() for ts in dict.values(ev.transitions))
        size = f"{count:,} transition objects"
    except (AttributeError, TypeError) as exc:
        size = f"machine size unavailable: {exc!r}"

    def ratio(figure: float, baseline: float) -> str:
        return f"{figure / baseline:.2f}x base" if baseline > 0 else "-"

    mb = 1024 * 1024
    rows = [
        (
            "validate_text",
            hostile.show(),
            hostile.show_cpu(),
            ratio(hostile.median, base_validate.median),
            f"traced peak {traced / mb:.0f} MB",
        ),
        (
            "coachflow validate FILE (a process)",
            cli["hostile"][0].show(),
            cli["hostile"][0].show_cpu(),
            ratio(cli["hostile"][0].median, cli["base"][0].median),
            f"peak RSS {cli['hostile'][1] / mb:.0f} MB "
            f"({ratio(cli['hostile'][1], cli['base'][1])})",
        ),
        (
            "Engine(definition): compile the machine",
            builds["hostile"].show(),
            builds["hostile"].show_cpu(),
            ratio(builds["hostile"].median, builds["base"].median),
            size,
        ),
    ]
    header = ("measurement", "wall: best / median", "cpu", "vs the base", "memory")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    for row in (header, tuple("-" * w for w in widths), *rows):
        print(line.format(*row).rstrip())
    print(
        "(before issue 11: coachflow validate took 66 s and 5.2 GB on this file, and the "
        "machine held 8,997,000 transition objects)"
    )


# --- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="in-process runs (default 10)")
    parser.add_argument("--cli-runs", type=int, default=10, help="process runs (default 10)")
    parser.add_argument(
        "--sizes",
        default="250,1000,4000",
        help="state counts of the scaling sweep, 3 transitions per state ('' to skip)",
    )
    parser.add_argument("--top", type=int, default=15, help="profile lines (default 15)")
    parser.add_argument("--quick", action="store_true", help="3 runs each, no scaling sweep")
    parser.add_argument("--write", type=Path, help="also write the 1,000-state definition there")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.cli_runs, args.sizes = 3, 3, ""

    from coachflow import validate_text

    text = generate_definition()
    if args.write:
        args.write.write_text(text, encoding="utf-8")
    diagnostics = validate_text(text, path="<generated-1000>")
    errors = [d for d in diagnostics if d.is_error]
    for d in diagnostics[:10]:
        print(d.format())
    if errors:
        print(f"the generated definition has {len(errors)} errors: the generator is broken")
        return 1
    import yaml

    data = yaml.safe_load(text)
    assert (len(data["states"]), len(data["transitions"])) == (1000, 3000)

    builtin = [(p, p.read_text(encoding="utf-8")) for p in sorted(DEFINITIONS.rglob("*.y*ml"))]

    def validate_builtin() -> None:
        for path, source in builtin:
            validate_text(source, path=str(path))

    cache = Path(tempfile.mkdtemp(prefix="coachflow-bench-pycache-"))
    env = process_env(cache)
    command = [*coachflow_command(), "validate", "definitions/"]

    section("setup")
    print(f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} cpus")
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        busy = load > 0.5 * (os.cpu_count() or 1)
        print(
            f"load average {load:.2f}"
            + (": the machine is busy, wall times are inflated; trust best and cpu" if busy else "")
        )
    print(
        f"generated definition: 1000 states, 3000 transitions, {len(text):,} bytes, "
        f"{len(diagnostics)} diagnostics"
    )
    print(f"built-in definitions: {len(builtin)} files, {sum(len(s) for _, s in builtin):,} bytes")
    print(f"command: {' '.join(command)}  (bytecode cache in {cache})")

    # the first call in a fresh interpreter builds the pydantic schemas
    cold_snippet = (
        "import sys, time; sys.path.insert(0, 'benchmarks');"
        "from bench_validate import generate_definition as g; t = g(); import yaml;"
        "c, s = time.process_time(), time.perf_counter(); from coachflow import validate_text;"
        "d = validate_text(t); print(time.perf_counter() - s, time.process_time() - c)"
    )
    colds = [
        subprocess.run(
            [sys.executable, "-c", cold_snippet],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for _ in range(3)
    ]
    cold = Timing([float(c[0]) for c in colds], [float(c[1]) for c in colds])

    with watching_gc() as gc_large:
        large = measure(lambda: validate_text(text), args.runs)
    runs = len(large.runs) + 1
    small = measure(validate_builtin, args.runs)
    cli = wall(command, args.cli_runs, env)
    strict = wall([*command[:-1], "--strict", "definitions/"], args.cli_runs, env)
    as_is = wall(command, args.cli_runs, process_env(None))
    imports = wall([sys.executable, "-c", "import coachflow.cli"], args.cli_runs, env)
    bare = wall([sys.executable, "-c", "pass"], args.cli_runs, env)

    section("figures")
    rows = [
        (
            "validate_text, 1000 states / 3000 transitions",
            large.show(),
            large.show_cpu(),
            f"< {fmt_s(TARGET_LARGE_S)}",
            verdict(large.median, TARGET_LARGE_S),
        ),
        (
            "  same, first call in a fresh process",
            cold.show(),
            cold.show_cpu(),
            f"< {fmt_s(TARGET_LARGE_S)}",
            verdict(cold.median, TARGET_LARGE_S),
        ),
        ("validate_text, built-in definitions", small.show(), small.show_cpu(), "-", "-"),
        (
            "coachflow validate definitions/",
            cli.show(),
            cli.show_cpu(),
            f"< {fmt_s(TARGET_CLI_S)}",
            verdict(cli.median, TARGET_CLI_S),
        ),
        (
            "coachflow validate --strict definitions/",
            strict.show(),
            strict.show_cpu(),
            f"< {fmt_s(TARGET_CLI_S)}",
            verdict(strict.median, TARGET_CLI_S),
        ),
    ]
    if "PYTHONDONTWRITEBYTECODE" in os.environ:
        rows.append(
            (
                "  same, PYTHONDONTWRITEBYTECODE as in this shell",
                as_is.show(),
                as_is.show_cpu(),
                "-",
                "-",
            )
        )
    rows += [
        ("  python -c 'import coachflow.cli'", imports.show(), imports.show_cpu(), "-", "-"),
        ("  python -c pass (interpreter start)", bare.show(), bare.show_cpu(), "-", "-"),
    ]
    print_table(rows)
    print(
        f"({args.runs} in-process runs after a warm-up; {args.cli_runs} processes after one "
        "uncounted, with a warm bytecode cache; PASS/FAIL on the median wall time)\n"
        f"the 1000-state validations spent {fmt_s(gc_large.seconds / runs)} each in cyclic "
        f"GC on average ({sum(gc_large.collections[2:])} full collections in {runs} runs)"
    )

    section('issue 11: 3,000 states and 3,000 transitions from: "*"')
    wildcards(text, large, args.runs, args.cli_runs, cache)

    section("coachflow validate definitions/: import time (python -X importtime)")
    import_breakdown(env)
    section("coachflow validate definitions/: phases of one process")
    cli_phases(env, max(3, args.cli_runs // 2))

    section("validate_text of the 1000-state definition: phases")
    print_phases(text, args.runs)

    section("validate_text of the 1000-state definition: cProfile (warm)")
    profile(text, args.top)

    if args.sizes:
        section("scaling (3 transitions per state)")
        scaling([int(s) for s in args.sizes.split(",") if s.strip()], max(3, args.runs // 2))
        section("scaling: special shapes")
        shapes(5)
    shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
