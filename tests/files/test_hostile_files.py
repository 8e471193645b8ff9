"""Hostile files: what the validator is handed is looked at before it is read.

A FIFO, a device or a socket is refused without being opened for reading (no hang, no
endless read); a file over the size bound is refused from its size alone (a sparse 8 GB
file is never read into memory); deep nesting is refused by our own bound, at the node
that crosses it, whichever YAML parser (libyaml or the pure-Python one) is in use.
"""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import coachflow
from coachflow.files import reader as _yaml
from coachflow.files.loading import definition_files, validate_files
from coachflow.files.reader import MAX_BYTES, MAX_DEPTH

ROOT = Path(__file__).resolve().parents[2]
VALID = (ROOT / "definitions" / "teacher-coaching.yaml").read_text(encoding="utf-8")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command in a process of its own, bounded in time (a hang fails)."""
    return subprocess.run(
        [sys.executable, "-m", "coachflow", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def located(diagnostics: list[coachflow.Diagnostic]) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.column) for d in diagnostics]


# --- special files -----------------------------------------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sock.yaml"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    try:
        yield path
    finally:
        server.close()


def test_a_fifo_is_refused_without_waiting_for_a_writer(fifo: Path) -> None:
    # opening a FIFO for reading blocks until a writer comes: this must not hang
    result: list[list[coachflow.Diagnostic]] = []
    reader = threading.Thread(target=lambda: result.append(coachflow.validate_file(fifo)))
    reader.daemon = True
    reader.start()
    reader.join(timeout=20)
    assert not reader.is_alive(), "validate_file hung on a FIFO"
    [diagnostics] = result
    assert located(diagnostics) == [("not-a-file", 1, 1)]
    assert "FIFO" in diagnostics[0].message


def test_a_device_is_refused_unread() -> None:
    tracemalloc.start()
    try:
        diagnostics = coachflow.validate_file("/dev/zero")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert located(diagnostics) == [("not-a-file", 1, 1)]
    assert "a device" in diagnostics[0].message
    assert peak < 1_000_000


def test_a_socket_is_refused(unix_socket: Path) -> None:
    diagnostics = coachflow.validate_file(unix_socket)
    assert located(diagnostics) == [("not-a-file", 1, 1)]
    assert "a socket" in diagnostics[0].message


def test_load_definition_refuses_special_files_with_a_definition_error(fifo: Path) -> None:
    with pytest.raises(coachflow.DefinitionError) as caught:
        coachflow.load_definition(fifo)
    assert [d.code for d in caught.value.diagnostics] == ["not-a-file"]
    with pytest.raises(coachflow.DefinitionError):
        coachflow.load_definition("/dev/zero")


def test_a_special_file_in_a_directory_is_reported_not_passed_over(
    tmp_path: Path, fifo: Path
) -> None:
    (tmp_path / "good.yaml").write_text(VALID, encoding="utf-8")
    found = validate_files(definition_files([tmp_path]))
    assert {Path(p).name: located(d) for p, d in found.items()} == {
        "good.yaml": [],
        "pipe.yaml": [("not-a-file", 1, 1)],
    }
    with pytest.raises(coachflow.DefinitionError) as caught:
        coachflow.load_definitions(tmp_path)
    assert [d.code for d in caught.value.diagnostics] == ["not-a-file"]


def test_the_cli_reports_special_files_in_one_line_each(tmp_path: Path, fifo: Path) -> None:
    done = cli("validate", str(fifo), "/dev/zero")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{fifo}:1:1: error not-a-file: a FIFO")
    assert lines[1].startswith("/dev/zero:1:1: error not-a-file: a device")
    assert lines[2] == "2 files checked, 2 errors, 0 warnings"
    assert "Traceback" not in done.stderr
    done = cli("graph", "/dev/zero")
    assert done.returncode == 1
    assert "not-a-file" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_directory_named_as_a_file_is_an_os_error_as_before(tmp_path: Path) -> None:
    # a usage mistake (exit status 2 in the CLI), like a missing file; never read
    folder = tmp_path / "looks-like.yaml"
    folder.mkdir()
    with pytest.raises(IsADirectoryError):
        coachflow.validate_file(folder)
    assert validate_files(definition_files([tmp_path])) == {}


def test_a_calendar_file_is_read_the_same_way() -> None:
    from coachflow.files.calendars import load_calendar

    with pytest.raises(coachflow.DefinitionError) as caught:
        load_calendar("/dev/zero")
    assert [d.code for d in caught.value.diagnostics] == ["not-a-file"]


# --- size before reading -----------------------------------------------------------------------


@pytest.fixture
def sparse_8gb(tmp_path: Path) -> Path:
    path = tmp_path / "defs" / "huge.yaml"
    path.parent.mkdir()
    with open(path, "wb") as f:
        f.truncate(8 * 1024**3)  # no blocks written: it takes no disk
    (path.parent / "good.yaml").write_text(VALID, encoding="utf-8")
    return path


def test_a_sparse_8_gb_file_is_refused_from_its_size(sparse_8gb: Path) -> None:
    tracemalloc.start()
    try:
        found = validate_files(definition_files([sparse_8gb.parent]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    by_name = {Path(p).name: d for p, d in found.items()}
    assert located(by_name["huge.yaml"]) == [("yaml-too-large", 1, 1)]
    assert "8,589,934,592 bytes" in by_name["huge.yaml"][0].message
    assert by_name["good.yaml"] == []
    assert peak < 50_000_000  # the valid file, not the 8 GB one


def test_the_cli_refuses_a_sparse_8_gb_file(sparse_8gb: Path) -> None:
    done = cli("validate", str(sparse_8gb.parent))
    assert done.returncode == 1
    assert f"{sparse_8gb}:1:1: error yaml-too-large: the file is 8,589,934,592 bytes" in (
        done.stdout
    )
    assert done.stdout.endswith("2 files checked, 1 error, 0 warnings\n")


def test_a_file_just_over_the_bound_is_refused_and_one_at_it_is_read(tmp_path: Path) -> None:
    at_bound = tmp_path / "at.yaml"
    at_bound.write_bytes(b"# " + b"x" * (MAX_BYTES - 3) + b"\n")
    assert at_bound.stat().st_size == MAX_BYTES
    assert "yaml-too-large" not in [d.code for d in coachflow.validate_file(at_bound)]
    over = tmp_path / "over.yaml"
    over.write_bytes(b"# " + b"x" * (MAX_BYTES - 2) + b"\n")
    assert located(coachflow.validate_file(over)) == [("yaml-too-large", 1, 1)]


def test_read_source_reads_at_most_one_byte_past_the_bound(tmp_path: Path) -> None:
    # a file whose size the kernel reports as 0 but that has content (as in /proc)
    # is read only up to the bound + 1: here a regular file that another process
    # keeps growing cannot be made portably, so the bound is checked on the bytes read
    path = tmp_path / "small.yaml"
    path.write_bytes(b"a: 1\n")
    data, refused = _yaml.read_source(path)
    assert (data, refused) == (b"a: 1\n", None)
    proc = Path("/proc/self/status")
    if proc.exists():
        assert proc.stat().st_size == 0
        data, refused = _yaml.read_source(proc)
        assert refused is None and data is not None and b"Name:" in data


def test_a_missing_file_is_still_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        coachflow.validate_file(tmp_path / "nope.yaml")


# --- deep nesting, with either parser ----------------------------------------------------------

PARSERS = {"libyaml": getattr(yaml, "CSafeLoader", None), "pure-python": yaml.SafeLoader}


@pytest.fixture(params=sorted(PARSERS))
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    chosen = PARSERS[request.param]
    if chosen is None:
        pytest.skip("this PyYAML was built without libyaml")
    monkeypatch.setattr(_yaml, "_Parser", chosen)
    return str(request.param)


DEEP = {
    # text, and the (line, column) of the node one level deeper than MAX_DEPTH
    "flow-lists": ("[" * 10_000 + "]" * 10_000, (1, MAX_DEPTH + 1)),
    "unclosed-flow-lists": ("[" * 10_000, (1, MAX_DEPTH + 1)),
    "flow-maps": ("{a: " * 10_000 + "}" * 10_000, (1, MAX_DEPTH * 4 + 1)),
    "flow-lists-past-1000": ("[" * 1_001 + "]" * 1_001, (1, MAX_DEPTH + 1)),
    "block-lists": ("- " * 10_000 + "x\n", (1, MAX_DEPTH * 2 + 1)),
    "block-maps": ("".join(" " * i + f"k{i}:\n" for i in range(2_000)), (MAX_DEPTH + 1, 65)),
    "block-maps-past-1000": (
        "".join(" " * i + f"k{i}:\n" for i in range(1_001)),
        (MAX_DEPTH + 1, 65),
    ),
    "flow-in-block": ("a:\n  - " + "[" * 5_000 + "]" * 5_000 + "\n", (2, MAX_DEPTH + 3)),
}


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_deep_nesting_is_refused_at_our_bound(parser: str, shape: str) -> None:
    text, where = DEEP[shape]
    assert located(coachflow.validate_text(text)) == [("yaml-too-large", *where)]


def test_nesting_at_the_bound_is_read(parser: str) -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    doc, diagnostics = _yaml.read_yaml(text)
    assert diagnostics == []
    depth, node = 0, doc.data
    while isinstance(node, list):
        depth += 1
        node = node[0] if node else None
    assert depth == MAX_DEPTH


def test_a_libyaml_nesting_error_is_never_a_syntax_error() -> None:
    # whatever limit the installed libyaml has (none in 0.2.5, 1,000 levels in the one
    # PyYAML 6.0.4 ships), a deep file is yaml-too-large at our bound, never yaml-syntax
    for levels in (999, 1_000, 1_001, 5_000):
        text = "[" * levels + "]" * levels
        assert located(coachflow.validate_text(text)) == [("yaml-too-large", 1, MAX_DEPTH + 1)]


# --- the garbage collector is the process's, not ours -----------------------------------------


def test_validation_leaves_the_collector_on_while_other_threads_run() -> None:
    seen_off: list[bool] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not gc.isenabled():
                seen_off.append(True)
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for _ in range(20):
            assert coachflow.validate_text(VALID) == []
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert gc.isenabled()
    assert not seen_off, "validation paused the garbage collector of every thread"


def test_validation_alone_in_the_process_still_restores_the_collector() -> None:
    assert gc.isenabled()
    coachflow.validate_text(VALID)
    assert gc.isenabled()
    gc.disable()
    try:
        coachflow.validate_text(VALID)
        assert not gc.isenabled(), "validation turned on a collector the caller had off"
    finally:
        gc.enable()


# --- the paths around the checks -------------------------------------------------------------


def test_a_dangling_link_in_a_directory_is_passed_over(tmp_path: Path) -> None:
    # editors leave such links as lock files next to the file being edited
    (tmp_path / "good.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / ".#good.yaml").symlink_to(tmp_path / "gone")
    assert [f.name for f in definition_files([tmp_path])] == ["good.yaml"]
    assert list(coachflow.load_definitions(tmp_path)) == ["teacher-coaching"]


def test_a_file_that_grows_past_the_bound_while_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the size the kernel reported when the file was opened said it was small (as /proc
    # files say 0): the read itself stops one byte past the bound
    path = tmp_path / "grown.yaml"
    path.write_bytes(b"#" * (MAX_BYTES + 10_000))
    real_fstat = os.fstat

    def small_fstat(fd: int) -> os.stat_result:
        info = list(real_fstat(fd))
        info[6] = 0  # st_size
        return os.stat_result(info)

    monkeypatch.setattr(os, "fstat", small_fstat)
    data, refused = _yaml.read_source(path)
    assert data is None and refused is not None
    assert (refused.code, refused.line, refused.column) == ("yaml-too-large", 1, 1)
    assert f"more than {MAX_BYTES:,} bytes" in refused.message


def test_a_fifo_swapped_in_after_the_first_look_is_refused_without_blocking(
    tmp_path: Path, fifo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the path looked like a regular file, then a FIFO was opened: opening must not wait
    # for a writer, and what was opened is looked at again
    regular = tmp_path / "regular.yaml"
    regular.write_text("a: 1\n", encoding="utf-8")
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: real_stat(regular))
    result: list[tuple[bytes | None, coachflow.Diagnostic | None]] = []
    reader = threading.Thread(target=lambda: result.append(_yaml.read_source(fifo)))
    reader.daemon = True
    reader.start()
    reader.join(timeout=20)
    assert not reader.is_alive(), "read_source waited for a writer on a FIFO"
    [(data, refused)] = result
    assert data is None and refused is not None and refused.code == "not-a-file"


class NestingLimitedLoader(yaml.SafeLoader):
    """The pure-Python parser, refusing flow nesting beyond 1,000 levels up front as the
    libyaml of PyYAML 6.0.4 does (its scanner looks ahead before it yields an event), so
    that the mapping of that refusal is tested whatever PyYAML is installed."""

    def check_event(self, *choices: object) -> bool:
        if not getattr(self, "_looked_ahead", False):
            self._looked_ahead = True
            text = self.buffer
            at = text.find("[" * 1_001)
            if at >= 0:
                at += 1_000
                line = text.count("\n", 0, at)
                mark = yaml.Mark("<text>", at, line, at - (text.rfind("\n", 0, at) + 1), "", 0)
                raise yaml.scanner.ScannerError(
                    "while increasing flow level", mark, "exceeded maximum nesting depth", mark
                )
        return bool(super().check_event(*choices))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[" * 2_000, (1, MAX_DEPTH + 1)),
        ("a: 1\nb: " + "[" * 2_000 + "]" * 2_000 + "\n", (2, 3 + MAX_DEPTH)),
        ("# " + "x" * 50_000 + "\nz: " + "[" * 1_001, (2, 3 + MAX_DEPTH)),
    ],
    ids=["alone", "after-keys", "after-a-long-comment"],
)
def test_a_parser_nesting_refusal_becomes_ours_at_our_node(
    monkeypatch: pytest.MonkeyPatch, text: str, where: tuple[int, int]
) -> None:
    monkeypatch.setattr(_yaml, "_Parser", NestingLimitedLoader)
    assert located(coachflow.validate_text(text)) == [("yaml-too-large", *where)]


def test_argparse_errors_escape_a_hostile_argument() -> None:
    done = cli("schema", "\x1b]0;pwned\x07")
    assert done.returncode == 2
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert "\\x1b]0;pwned\\x07" in done.stderr


def test_a_deeply_nested_command_line_value_is_a_plain_text_value(tmp_path: Path) -> None:
    db = tmp_path / "cf.db"
    done = cli(
        "start", "teacher-coaching", "--as", "dir", "--db", str(db), "--fact", "x=" + "[" * 100_000
    )
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "RecursionError" not in done.stderr
    assert done.returncode in (1, 2) and done.stderr.startswith("coachflow: ")
