"""`python -m bench [--quick] [--json FILE] [--only KEY ...]`: run, print a table, save figures.

Exits 0 whenever the benchmarks ran, whatever the figures say (a miss is a finding, not a
failure); 1 only when a benchmark could not run at all.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import BENCHMARKS
from bench.measure import REPO, Figure, number, unit_suffix


def machine() -> dict[str, Any]:
    """The facts a figure needs beside it: cores, CPU model, Python, OS."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        model = platform.processor()
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def table(figures: list[Figure], title: str) -> Table:
    grid = Table(title=title, show_lines=False, expand=False)
    for column in ("benchmark", "figure", "value", "target", "vs baseline", "result", "note"):
        grid.add_column(column, overflow="fold", no_wrap=column in {"value", "result"})
    for f in figures:
        ratio = ""
        if f.ratio is not None:
            ratio = f"{number(f.ratio)}× {f.baseline}"
            if f.ratio_target is not None:
                ratio += f" ({f.ratio_target.show()})"
        result = {True: "[green]pass[/]", False: "[red]MISS[/]", None: "[dim]info[/]"}[f.passed]
        grid.add_row(
            f.benchmark,
            f.name,
            f"{number(f.value)}{unit_suffix(f.unit)}",
            f.target.show(f.unit) if f.target else "",
            ratio,
            result,
            f"[dim]{f.note}[/]",
        )
    return grid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes (CI): well under two minutes")
    parser.add_argument("--json", metavar="FILE", help="write the figures and machine facts as JSON")
    parser.add_argument(
        "--only", nargs="+", choices=list(BENCHMARKS), metavar="KEY", help=", ".join(BENCHMARKS)
    )
    args = parser.parse_args(argv)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # the fakes in tests/ serve some benchmarks
    logging.basicConfig(level=logging.ERROR)  # the bot's own logs would drown the table
    console = Console(stderr=True)
    figures: list[Figure] = []
    broken: list[str] = []
    started = time.monotonic()
    for key in args.only or list(BENCHMARKS):
        console.print(f"[bold]running {key}[/] ({'quick' if args.quick else 'full'})")
        began = time.monotonic()
        try:
            module = importlib.import_module(BENCHMARKS[key])
            figures += module.run(args.quick)
        except Exception as err:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            broken.append(f"{key}: {type(err).__name__}: {err}")
        console.print(f"  {key} took {time.monotonic() - began:.1f}s")
    facts = machine()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = (
        f"storybot benchmarks ({'quick' if args.quick else 'full'}), {when}, "
        f"{facts['nproc']} cores {facts['cpu']}, Python {facts['python']}"
    )
    out = Console() if sys.stdout.isatty() else Console(width=200)  # CI logs: no wrapping
    out.print(table(figures, title))
    missed = [f for f in figures if f.passed is False]
    summary = f"{len(figures)} figures, {len(missed)} missed, {time.monotonic() - started:.0f}s"
    print(summary + (f"; could not run: {'; '.join(broken)}" if broken else ""))
    if args.json:
        document = {
            "date": when,
            "quick": args.quick,
            "machine": facts,
            "figures": [f.as_dict() for f in figures],
            "broken": broken,
        }
        Path(args.json).write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
