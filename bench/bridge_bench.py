"""The bridge against a direct connection and against socat, in one run, on loopback.

Run ``python bench/bridge_bench.py`` from the repository root (``--quick``: fewer iterations,
under a minute). Three paths from a till to a fake printer (``bench/sink.py``, its own process):
direct, through ``socat``, and through ``tillbridge run``. Each section returns table rows;
``main()`` prints them side by side, then notes on how each figure was taken.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import tills  # noqa: E402
from bench.children import (  # noqa: E402
    BenchError,
    Children,
    SinkMonitor,
    Till,
    check_config,
    cpu_seconds,
    eof_count,
    free_ports,
    open_count,
    process_tree,
    pss_kib,
    rss_kib,
    socat_path,
    start_daemon,
    start_socat,
    thread_cpu_seconds,
    write_config,
)

PATHS = ("direct", "socat", "tillbridge")
Row = tuple[str, str, str, str, str]  # figure, direct, socat, tillbridge, aim
HOLD_BOUND_MS = 1500  # the default max_hold_ms, which the bench config keeps


@dataclass(frozen=True)
class Plan:
    bulk_bytes: int
    bulk_runs: int
    inject_bulk_bytes: int
    round_trips: int
    receipts: int
    idle_tills: int
    busy_tills: int
    busy_seconds: float
    fleet_sizes: tuple[int, ...]  # one fleet run per size: tills printing a sale a second
    fleet_seconds: int


FULL = Plan(50_000_000, 3, 5_000_000, 2000, 300, 100, 10, 3.0, (100, 200, 400), 20)
QUICK = Plan(10_000_000, 1, 1_000_000, 300, 40, 100, 10, 1.0, (100,), 5)


@dataclass
class Bench:
    plan: Plan
    children: Children
    folder: Path
    sink: SinkMonitor
    ports: dict[str, int | None]  # where a till connects for each path; None: not available
    why_not: dict[str, str]  # path → why it is not measured
    daemon: subprocess.Popen[bytes] | None = None
    socat_pid: int | None = None
    inject_port: int | None = None  # the bridge's inject-mode till (ports holds passthrough)
    notes: list[str] = field(default_factory=list)
    next_number: int = 100_000  # receipt numbers: unique over the run, so every sale is new

    @property
    def log(self) -> Path:
        return self.folder / "tillbridge.log"

    def numbers(self, count: int) -> range:
        first = self.next_number
        self.next_number += count
        return range(first, first + count)

    def cells(self, measure: Callable[[str, int], str], paths: Sequence[str] = PATHS) -> list[str]:
        """One cell per path: the figure, or why there is none."""
        cells = []
        for path in PATHS:
            port = self.ports.get(path)
            if path not in paths:
                cells.append("-")
            elif port is None:
                cells.append(self.why_not.get(path, "n/a"))
            else:
                progress(f"  {path}")
                cells.append(measure(path, port))
        return cells


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def row(figure: str, cells: Sequence[str], aim: str = "") -> Row:
    direct, socat, bridge = cells
    return (figure, direct, socat, bridge, aim)


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


# --- sections -----------------------------------------------------------------------------


def throughput_section(bench: Bench) -> list[Row]:
    plan = bench.plan
    progress(f"bulk throughput: {plan.bulk_bytes / 1e6:.0f} MB, {plan.bulk_runs} run(s) per path")
    data = tills.receipt_stream(plan.bulk_bytes)
    figures: dict[str, float] = {}

    def measure(path: str, port: int) -> str:
        runs = [tills.bulk_throughput(port, data, bench.sink) for _ in range(plan.bulk_runs)]
        figures[path] = statistics.median(runs)
        return f"{figures[path]:.0f}"

    bench.sink.scanning(False)
    try:
        cells = bench.cells(measure)
    finally:
        bench.sink.scanning(True)
    aim = "bridge ≥ ½ socat: "
    if "socat" in figures and "tillbridge" in figures:
        aim += met(figures["tillbridge"] >= figures["socat"] / 2)
    else:
        aim += "n/a"
    rows = [row("bulk throughput MB/s (passthrough)", cells, aim)]
    bench.notes.append(
        f"bulk: one connection sends {len(data) / 1e6:.1f} MB of the sale receipt repeated, "
        f"then half-closes; MB/s from connect to the sink's last byte, median of "
        f"{plan.bulk_runs}; tillbridge till in passthrough mode."
    )
    if bench.inject_port is not None:
        progress(f"bulk throughput, inject mode: {plan.inject_bulk_bytes / 1e6:.0f} MB")
        inject_data = tills.receipt_stream(plan.inject_bulk_bytes)
        bench.sink.scanning(False)
        try:
            mbps = tills.bulk_throughput(bench.inject_port, inject_data, bench.sink)
        finally:
            bench.sink.scanning(True)
        rows.append(row("bulk throughput MB/s (inject)", ("-", "-", f"{mbps:.1f}")))
        bench.notes.append(
            f"bulk inject: {len(inject_data) / 1e6:.1f} MB "
            f"({len(inject_data) // len(tills.sale_receipt(0))} receipts"
            " back to back, the same number: reprints after the first), every cut held and read."
        )
    return rows


def round_trip_section(bench: Bench) -> list[Row]:
    count = bench.plan.round_trips
    progress(f"status round trips: {count} per path")
    p50s: dict[str, float] = {}
    p99s: dict[str, float] = {}

    def measure(path: str, port: int) -> str:
        target = bench.inject_port if path == "tillbridge" and bench.inject_port else port
        timings = [ns / 1000 for ns in tills.status_round_trips(target, count)]
        p50s[path] = percentile(timings, 0.5)
        p99s[path] = percentile(timings, 0.99)
        return f"{p50s[path]:.0f} / {p99s[path]:.0f}"

    cells = bench.cells(measure)
    rows = [row("status round trip p50 / p99 µs", cells)]
    if "direct" in p50s:

        def overhead(path: str) -> str:
            if path not in p50s or path == "direct":
                return "-"
            return f"{p50s[path] - p50s['direct']:+.0f} / {p99s[path] - p99s['direct']:+.0f}"

        extra = [overhead(path) for path in PATHS]
        aim = "bridge p99 overhead < 1 ms: "
        aim += met(p99s["tillbridge"] - p99s["direct"] < 1000) if "tillbridge" in p99s else "n/a"
        rows.append(row("  overhead vs direct µs", extra, aim))
    bench.notes.append(
        f"status: DLE EOT 1 sent, one reply byte awaited, {count} times on one connection "
        "(after 50 unmeasured); tillbridge till in inject mode."
    )
    return rows


def cut_latency_section(bench: Bench) -> list[Row]:
    count = bench.plan.receipts
    progress(f"added latency at the cut: {count} receipts per path")
    p99s: dict[str, float] = {}
    with_message: dict[str, int] = {}

    def measure(path: str, port: int) -> str:
        target = bench.inject_port if path == "tillbridge" and bench.inject_port else port
        timings = [tills.print_receipt(target, n, bench.sink) for n in bench.numbers(count)]
        latencies = [t.latency_ns / 1e6 for t in timings]
        with_message[path] = sum(1 for t in timings if "Balance" in t.markers)
        p99s[path] = percentile(latencies, 0.99)
        return f"{percentile(latencies, 0.5):.2f} / {p99s[path]:.2f}"

    cells = bench.cells(measure)
    aim = "bridge p99 < 10 ms: " + (met(p99s["tillbridge"] < 10) if "tillbridge" in p99s else "n/a")
    rows = [row("cut latency p50 / p99 ms", cells, aim)]
    messages = [f"{with_message[p]}/{count}" if p in with_message else "-" for p in PATHS]
    rows.append(row("  receipts with Balance before the cut", messages))

    def measure_long(path: str, port: int) -> str:
        target = bench.inject_port if path == "tillbridge" and bench.inject_port else port
        timings = tills.print_receipts(target, bench.numbers(count), bench.sink)
        latencies = [t.latency_ns / 1e6 for t in timings]
        with_message[path] = sum(1 for t in timings if "Balance" in t.markers)
        return f"{percentile(latencies, 0.5):.2f} / {percentile(latencies, 0.99):.2f}"

    progress(f"added latency at the cut, one long connection: {count} receipts per path")
    rows.append(row("cut latency p50 / p99 ms, one connection", bench.cells(measure_long)))
    messages = [f"{with_message[p]}/{count}" if p in with_message else "-" for p in PATHS]
    rows.append(row("  receipts with Balance before the cut", messages))
    bench.notes.append(
        f"cut: {count} sale receipts (5.4 kB, loyalty card, each its own number), sequential, "
        "one connection per receipt as a network till prints (connect, send, half-close, wait "
        "for the close); from the till's last write to the sink reading the cut, so the "
        "bridge's figure includes its connect to the printer; tillbridge in inject mode, SQLite. "
        "'one connection': the same on one long connection, each receipt sent once the "
        "previous cut was seen. Direct can be ~0: the sink may read the cut before the till's "
        "send() returns."
    )
    return rows


def start_many_tills(bench: Bench) -> dict[str, list[int]]:
    """A daemon with a till of its own for each idle, busy and inject-busy till of the
    memory figures (it replaces the bench's daemon: ``bench.daemon``); their ports by kind."""
    plan = bench.plan
    if bench.daemon is not None:
        bench.children.stop(bench.daemon)
    counts = {"idle": plan.idle_tills, "busy": plan.busy_tills, "inject": plan.busy_tills}
    ports = free_ports(sum(counts.values()))
    kinds: dict[str, list[int]] = {}
    till_list = []
    at = 0
    for kind, count in counts.items():
        kinds[kind] = ports[at : at + count]
        mode = "inject" if kind == "inject" else "passthrough"
        till_list += [Till(f"{kind}{i:03d}", p, mode) for i, p in enumerate(kinds[kind])]
        at += count
    folder = bench.folder / "memory"
    folder.mkdir()
    config = write_config(folder, till_list, bench.sink.port)
    bench.daemon = start_daemon(bench.children, config, ports, folder / "tillbridge.log")
    bench.notes.append(
        f"memory tillbridge: one daemon with {len(till_list)} [[tills]] tables (idle, busy, "
        "inject-busy), one listener each: its RSS at rest includes them all."
    )
    return kinds


def memory_section(bench: Bench) -> list[Row]:
    plan = bench.plan
    progress(f"memory: {plan.idle_tills} idle tills, {plan.busy_tills} busy tills")
    pids = {"socat": bench.socat_pid, "tillbridge": bench.daemon.pid if bench.daemon else None}
    # A till's connections reach its printer one at a time, in order, as at a printer with one
    # connection: so for tillbridge each idle or busy till is a till of its own, in a daemon
    # of their own (socat: connections to one port).
    many: dict[str, list[int]] = {}
    if bench.daemon is not None:
        many = start_many_tills(bench)
        pids["tillbridge"] = bench.daemon.pid
    figures: dict[str, dict[str, int]] = {}  # path → what → KiB
    chunk = tills.receipt_stream(16 * 1024)[: 16 * 1024]

    def tree_kib(path: str) -> tuple[int, int]:
        pid = pids[path]
        assert pid is not None
        tree = process_tree(pid)
        return rss_kib(tree), pss_kib(tree)

    def busy_peak(path: str, port: int | list[int]) -> tuple[int, int, float]:
        """Peak RSS and Pss while the busy tills stream; their MB/s in all."""
        mark = bench.sink.mark()
        streams = tills.Streams(port, plan.busy_tills, chunk)
        time.sleep(0.5)  # let every stream reach its steady state
        peak_rss = peak_pss = 0
        start_sent, started = sum(streams.sent), time.monotonic()
        while time.monotonic() < started + plan.busy_seconds:
            rss, pss = tree_kib(path)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            time.sleep(0.1)
        mbps = (sum(streams.sent) - start_sent) / (time.monotonic() - started) / 1e6
        streams.stop()
        bench.sink.wait_for(mark, eof_count(plan.busy_tills), 60, "the busy streams' ends")
        return peak_rss, peak_pss, mbps

    def measure(path: str, port: int) -> str:
        settle()
        base, base_pss = tree_kib(path)
        mark = bench.sink.mark()
        idle = tills.open_idle(
            many.get("idle", port) if path == "tillbridge" else port, plan.idle_tills
        )
        bench.sink.wait_for(mark, open_count(plan.idle_tills), 60, "the idle tills' printers")
        time.sleep(1.0)
        idle_rss, idle_pss = tree_kib(path)
        tills.close_all(idle)
        bench.sink.wait_for(mark, eof_count(plan.idle_tills), 60, "the idle tills' ends")
        settle()
        busy_rss, busy_pss, mbps = busy_peak(
            path, many.get("busy", [port]) if path == "tillbridge" else port
        )
        figures[path] = {"base": base, "base_pss": base_pss, "idle": idle_rss}
        figures[path] |= {"idle_pss": idle_pss, "busy": busy_rss, "busy_pss": busy_pss}
        bench.notes.append(
            f"memory {path}: the {plan.busy_tills} busy tills moved {mbps:.0f} MB/s."
        )
        if path == "tillbridge" and "inject" in many:
            settle()
            busy_rss, busy_pss, mbps = busy_peak(path, many["inject"])
            figures["inject"] = {"base": base, "base_pss": base_pss}
            figures["inject"] |= {"busy": busy_rss, "busy_pss": busy_pss}
            bench.notes.append(
                f"memory tillbridge, inject mode: the {plan.busy_tills} busy tills sent receipts "
                f"back to back, the same number (reprints), {mbps:.1f} MB/s in all."
            )
        return f"{base}"

    bench.sink.scanning(False)
    try:
        cells = bench.cells(measure, paths=("socat", "tillbridge"))
    finally:
        bench.sink.scanning(True)

    def per_till(path: str, what: str, count: int) -> str:
        f = figures.get(path)
        if f is None:
            return "-"
        rss = f"{(f[what] - f['base']) / count:.0f}"
        if path != "socat":
            return rss
        # socat's forks share most of their pages: Pss says what they really add.
        return f"{rss} (Pss {(f[f'{what}_pss'] - f['base_pss']) / count:.0f})"

    def total(path: str, what: str) -> str:
        return f"{figures[path][what]}" if path in figures else "-"

    idle, busy = plan.idle_tills, plan.busy_tills
    rows = [
        row("RSS at rest KiB (no till connected)", cells),
        row(
            f"RSS with {idle} idle tills KiB",
            ("-", total("socat", "idle"), total("tillbridge", "idle")),
        ),
        row(
            "  per idle till KiB",
            ("-", per_till("socat", "idle", idle), per_till("tillbridge", "idle", idle)),
        ),
        row(
            f"RSS with {busy} busy tills KiB (peak)",
            ("-", total("socat", "busy"), total("tillbridge", "busy")),
        ),
        row(
            "  per busy till KiB",
            ("-", per_till("socat", "busy", busy), per_till("tillbridge", "busy", busy)),
        ),
    ]
    if "inject" in figures:
        rows += [
            row(f"RSS with {busy} busy tills KiB (inject)", ("-", "-", total("inject", "busy"))),
            row("  per busy till KiB (inject)", ("-", "-", per_till("inject", "busy", busy))),
        ]
    bench.notes.append(
        "memory: VmRSS summed over the process and its children (socat forks one per "
        "connection; tillbridge has a parse worker), at rest after the sections above; for "
        "socat also Pss (shared pages split between the processes sharing them). "
        "Idle tills connect and send nothing; busy tills stream the receipt stream as fast as "
        "the path takes it, tillbridge in passthrough mode unless said otherwise."
    )
    return rows


def settle() -> None:
    time.sleep(0.5)


def fleet_section(bench: Bench) -> list[Row]:
    rows: list[Row] = []
    for size in bench.plan.fleet_sizes:
        rows += fleet_run(bench, size)
    return rows


def fleet_run(bench: Bench, fleet_tills: int) -> list[Row]:
    plan = bench.plan
    if bench.ports.get("tillbridge") is None:
        return [row(f"{fleet_tills} tills", ("-", "-", bench.why_not.get("tillbridge", "n/a")))]
    if bench.daemon is not None:
        # One daemon at a time, so the CPU figure is this one's alone.
        bench.children.stop(bench.daemon)
        bench.daemon = None
    progress(f"{fleet_tills} tills, one sale a second each, for {plan.fleet_seconds} s")
    folder = bench.folder / f"fleet{fleet_tills}"
    folder.mkdir()
    *ports, status_port = free_ports(fleet_tills + 1)
    fleet = [Till(f"till{i:03d}", port, "inject") for i, port in enumerate(ports)]
    config = write_config(folder, [*fleet, Till("status", status_port, "inject")], bench.sink.port)
    check_config(config)
    daemon = start_daemon(bench.children, config, [*ports, status_port], folder / "tillbridge.log")
    settle()
    first = bench.numbers(fleet_tills * plan.fleet_seconds).start
    mark = bench.sink.mark()
    workers = [pid for pid in process_tree(daemon.pid) if pid != daemon.pid]
    threads_before, workers_before = thread_cpu_seconds(daemon.pid), cpu_seconds(workers)
    wall_before = time.monotonic()
    probe = tills.StatusProbe(status_port, bench.sink.port)
    result = tills.run_fleet(ports, plan.fleet_seconds, first)
    status = probe.stop()
    wall = time.monotonic() - wall_before
    threads = thread_cpu_seconds(daemon.pid)
    workers = [pid for pid in process_tree(daemon.pid) if pid != daemon.pid]
    worker_cpu = cpu_seconds(workers) - workers_before
    main_cpu = threads.get(daemon.pid, 0.0) - threads_before.get(daemon.pid, 0.0)
    other_cpu = sum(t - threads_before.get(tid, 0.0) for tid, t in threads.items()) - main_cpu
    bench.children.stop(daemon)  # the next fleet's CPU figure is its own
    cuts = {e["tag"]: e for e in bench.sink.since(mark, "cut")}
    latencies: list[float] = []
    no_message = past_bound = lost = 0
    for tag, sent in result.sent.items():
        cut = cuts.get(tag)
        if cut is None:
            lost += 1
            continue
        latency = (cut["t"] - sent) / 1e6
        latencies.append(latency)
        no_message += "Balance" not in cut["markers"]
        past_bound += latency >= HOLD_BOUND_MS
    total = fleet_tills * plan.fleet_seconds
    label = f"{fleet_tills} tills × {plan.fleet_seconds} receipts (inject)"
    figures = (
        f"p50 {percentile(latencies, 0.5):.1f} / p99 {percentile(latencies, 0.99):.1f} / "
        f"max {max(latencies):.1f}"
        if latencies
        else "no cut seen"
    )
    ok = no_message == 0 and past_bound == 0 and lost == 0 and not result.failures
    printed = max(len(latencies), 1)

    def per_receipt(seconds: float) -> str:
        return f"{seconds / printed * 1000:.2f}"

    rows = [
        row(f"{label}: cut latency ms", ("-", "-", figures)),
        row(
            "  receipts without a message / past the bound",
            ("-", "-", f"{no_message} / {past_bound} of {total}"),
            "none held past its bound: " + met(ok),
        ),
        row(
            "  CPU ms per receipt: reactor + other threads + child processes = total",
            (
                "-",
                "-",
                f"{per_receipt(main_cpu)} + {per_receipt(other_cpu)} + "
                f"{per_receipt(worker_cpu)} = {per_receipt(main_cpu + other_cpu + worker_cpu)}",
            ),
        ),
        row(
            "  daemon CPU % of one core (the tills' process)",
            (
                "-",
                "-",
                f"{(main_cpu + other_cpu + worker_cpu) / wall * 100:.0f} "
                f"({result.cpu_s / wall * 100:.0f})",
            ),
        ),
    ]
    if status["direct"] and status["tillbridge"]:
        direct = [ns / 1000 for ns in status["direct"]]
        bridged = [ns / 1000 for ns in status["tillbridge"]]
        over = percentile(bridged, 0.99) - percentile(direct, 0.99)
        rows.append(
            row(
                "  status round trip meanwhile, p50 / p99 µs",
                (
                    f"{percentile(direct, 0.5):.0f} / {percentile(direct, 0.99):.0f}",
                    "-",
                    f"{percentile(bridged, 0.5):.0f} / {percentile(bridged, 0.99):.0f} "
                    f"({over:+.0f} at p99)",
                ),
                "p99 overhead < 1 ms: " + met(over < 1000),
            )
        )
    bench.notes.append(
        f"fleet: {fleet_tills} [[tills]] tables, one listener each, all printing to the "
        f"sink; each till prints the sale receipt once a second (tills staggered over the "
        f"second), one connection per receipt, from a process of their own "
        f"(bench/fleet_client.py); {len(result.sent)} of {total} sent, {lost} cuts "
        f"not seen, {result.late_starts} late starts, {len(result.failures)} failures"
        + (f" (first: {result.failures[0]})" if result.failures else "")
        + f"; hold bound {HOLD_BOUND_MS} ms. Status: one more till, in inject mode, and the "
        f"printer itself, asked DLE EOT 1 in turn every 10 ms while the fleet prints "
        f"({len(status['tillbridge'])} round trips each)."
    )
    return rows


# --- set-up and the table -----------------------------------------------------------------


def start_paths(bench: Bench) -> None:
    socat_port, pass_port, inject_port = free_ports(3)
    if socat_path() is None:
        bench.why_not["socat"] = "no socat"
        bench.notes.append(
            "socat is not installed: its column is skipped (apt-get install socat, "
            "dnf install socat or brew install socat)."
        )
        progress("socat not found: skipping its column (install it: apt-get install socat)")
    else:
        bench.socat_pid = start_socat(bench.children, socat_port, bench.sink.port).pid
        bench.ports["socat"] = socat_port
    config = write_config(
        bench.folder,
        [Till("pass", pass_port, "passthrough"), Till("inject", inject_port, "inject")],
        bench.sink.port,
    )
    try:
        check_config(config)
        daemon = start_daemon(bench.children, config, [pass_port, inject_port], bench.log)
    except BenchError as error:
        progress(f"tillbridge: {error}")
        bench.why_not["tillbridge"] = "did not start"
        return
    bench.daemon = daemon
    bench.ports["tillbridge"] = pass_port
    bench.inject_port = inject_port
    settle()
    start_rss = rss_kib(process_tree(daemon.pid))
    bench.notes.append(f"tillbridge RSS just after start: {start_rss} KiB.")


SECTIONS: list[Callable[[Bench], list[Row]]] = [
    throughput_section,
    round_trip_section,
    cut_latency_section,
    memory_section,
    fleet_section,
]


def print_table(rows: Sequence[Row], notes: Sequence[str]) -> None:
    table = [row("figure", PATHS, "aim"), *rows]
    widths = [max(len(line[k]) for line in table) for k in range(5)]
    print()
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    print()
    for note in notes:
        print(f"- {note}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations: under a minute")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs, db)")
    parser.add_argument(
        "--only",
        action="append",
        choices=[section.__name__.removesuffix("_section") for section in SECTIONS],
        help="run only this section (may be repeated)",
    )
    parser.add_argument(
        "--fleet",
        metavar="N,N...",
        help="the fleet sizes to run (default: 100,200,400; --quick: 100)",
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.fleet:
        plan = replace(plan, fleet_sizes=tuple(int(n) for n in args.fleet.split(",")))
    sections = [
        section
        for section in SECTIONS
        if not args.only or section.__name__.removesuffix("_section") in args.only
    ]

    def stop(signum: int, _: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # unwinds through the finally below

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    folder = Path(tempfile.mkdtemp(prefix="tillbridge-bench-"))
    children = Children()
    rows: list[Row] = []
    try:
        sink = SinkMonitor(children)
        bench = Bench(plan, children, folder, sink, {"direct": sink.port}, {})
        start_paths(bench)
        for section in sections:
            started = time.monotonic()
            rows += section(bench)
            progress(f"  ({time.monotonic() - started:.0f} s)")
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        bench.notes.append(
            f"machine: {os.cpu_count()} CPUs, load average {load} at the end (1, 5, 15 min); "
            "the client, the sink and the path under test share them."
        )
        print_table(rows, bench.notes)
    except KeyboardInterrupt:
        progress("interrupted")
        return 130
    except BenchError as error:
        progress(f"bridge_bench: {error}")
        return 1
    finally:
        children.stop_all()
        if args.keep:
            progress(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
