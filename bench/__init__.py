"""storybot's benchmarks: speed, scale and memory, each against a baseline from the same run.

`python -m bench` runs them all and prints a table; `--quick` runs reduced sizes (what CI
runs); `--json FILE` writes the figures. Each benchmark is a module with `run(quick) ->
list[Figure]`; see bench/README.md for what each measures and the latest full results.
"""

from __future__ import annotations

# key -> module; imported only when run, so one benchmark's imports cost the others nothing
BENCHMARKS: dict[str, str] = {
    "parse": "bench.parse_diff",
    "html": "bench.html_path",
    "polling": "bench.polling",
    "commands": "bench.command_latency",
    "fanout": "bench.fanout",
    "alert": "bench.alert_latency",
    "workers": "bench.workers",
    "urlwatch": "bench.urlwatch_compare",
    "held": "bench.held_refresh",
}
