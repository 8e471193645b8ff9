"""How fast does coachflow start? Benchmarks for the start-up targets of the speed issue.

Run from anywhere (paths are resolved from this file)::

    python benchmarks/bench_startup.py            # 20 runs of each process
    python benchmarks/bench_startup.py --quick    # 5 runs of each
    python benchmarks/bench_startup.py --runs 50

Targets (the script prints PASS/FAIL and always exits 0 once it could measure: it reports,
it does not gate, and it is never part of the test suite):

* ``python -c "import coachflow; coachflow.Engine"``: <= 150 ms, the whole process;
* ``coachflow validate definitions/``: <= 0.25 s, the whole process.

Every figure is of fresh processes, run round-robin (one of each command per round, so
that a machine getting busier slows them all alike), with a warm bytecode cache in a
temporary directory, as after ``pip install``; the first round is not counted. Measured in
the same run, for reference: ``python -c pass`` (the interpreter's own start-up) and
``python -c "import transitions"`` / ``"import pydantic.main"`` (what the engine's
dependencies cost on their own). Then, for each measured command, which third-party
packages it loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench_validate import coachflow_command, process_env  # the same commands, measured alike

ROOT = Path(__file__).resolve().parent.parent

TARGET_IMPORT_S = 0.150
TARGET_VALIDATE_S = 0.250
CLOSE = 0.8
"""A figure above this share of its target passes, but is reported as close."""

ENGINE_CODE = "import coachflow; coachflow.Engine"


@dataclass
class Command:
    label: str
    argv: list[str]
    target: float | None = None
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def _children_cpu() -> float:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Unix
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(command: Command, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU time (user + system) of one fresh process of ``command``."""
    import time

    cpu, start = _children_cpu(), time.perf_counter()
    proc = subprocess.run(
        command.argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    elapsed, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(command.argv)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
        )
    return elapsed, cpu


def measure(commands: Sequence[Command], runs: int, env: dict[str, str]) -> None:
    """``runs`` counted rounds, one process of each command per round, after one
    uncounted round (which fills the bytecode and file caches)."""
    for i in range(runs + 1):
        for command in commands:
            elapsed, cpu = run_once(command, env)
            if i:
                command.wall.append(elapsed)
                command.cpu.append(cpu)


def quartiles(values: Sequence[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def verdict(figure: float, target: float | None) -> str:
    if target is None:
        return "-"
    if figure > target:
        return "FAIL"
    return "PASS (close)" if figure >= CLOSE * target else "PASS"


def print_table(commands: Sequence[Command], bare: float) -> None:
    header = (
        "process",
        "median ms",
        "min-max ms",
        "IQR ms",
        "cpu ms",
        "less python -c pass",
        "target",
        "result",
    )
    rows = []
    for c in commands:
        median = statistics.median(c.wall)
        q1, q3 = quartiles(c.wall)
        rows.append(
            (
                c.label,
                ms(median),
                f"{ms(min(c.wall))}-{ms(max(c.wall))}",
                f"{ms(q1)}-{ms(q3)}",
                ms(statistics.median(c.cpu)),
                ms(median - bare),
                "-" if c.target is None else f"<= {ms(c.target)}",
                verdict(median, c.target),
            )
        )
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row).rstrip())


_PROBE = (
    "import json, sys\n"
    "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"  # after the code above
)


def loaded_packages(code: str, env: dict[str, str]) -> tuple[list[str], int]:
    """The third-party packages and the number of coachflow modules a fresh interpreter
    holds after running ``code``."""
    proc = subprocess.run(
        [sys.executable, "-c", code + "\n" + _PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    modules: list[str] = json.loads(proc.stderr.strip().splitlines()[-1])
    roots = {m.split(".")[0] for m in modules}
    third_party = sorted(
        r
        for r in roots
        if r not in sys.stdlib_module_names
        and not r.startswith("_")
        and r not in ("coachflow", "cython_runtime")  # the latter: made by a Cython module
    )
    ours = sum(1 for m in modules if m == "coachflow" or m.startswith("coachflow."))
    return third_party, ours


_VALIDATE_CODE = (
    "import contextlib, io\nfrom coachflow.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    status = main(['validate', 'definitions/'])\n"
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="processes of each (default 20)")
    parser.add_argument("--quick", action="store_true", help="5 processes of each")
    args = parser.parse_args(argv)
    runs = 5 if args.quick else max(1, args.runs)

    cache = Path(tempfile.mkdtemp(prefix="coachflow-bench-pycache-"))
    env = process_env(cache)
    py = sys.executable
    bare = Command("python -c pass", [py, "-c", "pass"])
    commands = [
        bare,
        Command('python -c "import transitions"', [py, "-c", "import transitions"]),
        Command('python -c "import pydantic.main"', [py, "-c", "import pydantic.main"]),
        Command(f'python -c "{ENGINE_CODE}"', [py, "-c", ENGINE_CODE], TARGET_IMPORT_S),
        Command('python -c "import coachflow.cli"', [py, "-c", "import coachflow.cli"]),
        Command(
            "coachflow validate definitions/",
            [*coachflow_command(), "validate", "definitions/"],
            TARGET_VALIDATE_S,
        ),
    ]

    print(f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} cpus")
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        busy = load > 0.5 * (os.cpu_count() or 1)
        print(
            f"load average {load:.2f}"
            + (": the machine is busy, wall times are inflated; compare with cpu" if busy else "")
        )
    print(f"{runs} rounds after one uncounted, bytecode cache in {cache}\n")
    try:
        measure(commands, runs, env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    print_table(commands, statistics.median(bare.wall))
    print(
        "\nPASS/FAIL on the median wall time of the whole process (interpreter start "
        "included);\n'less python -c pass' is what coachflow adds to the interpreter's own start."
    )

    print("\nwhat each loads (third-party packages; coachflow modules):")
    cache = Path(tempfile.mkdtemp(prefix="coachflow-bench-pycache-"))
    try:
        probes = {
            "import coachflow": "import coachflow",
            ENGINE_CODE: ENGINE_CODE,
            "coachflow validate definitions/": _VALIDATE_CODE,
        }
        for label, code in probes.items():
            packages, ours = loaded_packages(code, process_env(cache))
            print(f"  {label:<36} {', '.join(packages) or '-'}; {ours} coachflow modules")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
