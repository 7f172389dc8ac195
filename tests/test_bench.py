"""The benchmarks run at tiny sizes and give sane figures (the numbers themselves are not
checked: a benchmark is not a unit test). CI runs `python -m bench --quick` for the rest."""

from __future__ import annotations

import math

import pytest
from rich.console import Console

from bench import fanout, held_refresh, html_path, parse_diff, polling, workers
from bench.__main__ import table
from bench.command_latency import measure as command_latency
from bench.measure import Figure, Target, percentile
from bench.stories import sections, text_pair


def sane(figures: list[Figure]) -> None:
    assert figures
    for figure in figures:
        assert math.isfinite(figure.value) and figure.value > 0, figure
        assert "WRONG" not in figure.note, figure
        assert figure.ratio is None or (math.isfinite(figure.ratio) and figure.ratio > 0), figure


def test_targets_and_percentiles() -> None:
    assert Target(5000, at_least=True).met(6000) and not Target(1.0).met(1.5)
    assert Figure("b", "f", 2.0, "s", target=Target(1.0)).passed is False
    assert Figure("b", "f", 2.0, "s", ratio=0.5, ratio_target=Target(1.0)).passed is True
    assert Figure("b", "f", 2.0, "s").passed is None
    assert percentile([1, 2, 3, 4], 50) == 2.5 and percentile([5], 99) == 5


def test_generated_stories_gain_updates_on_top() -> None:
    assert sections(5, 3)[1:] == sections(4, 3)
    old, new = text_pair(10, seed=1)
    assert new.count("UPDATE ") == old.count("UPDATE ") + 1


def test_parse_and_html_benchmarks() -> None:
    figures = parse_diff.measure((1, 10), repeats=1, min_seconds=0.001)
    figures += html_path.measure(2, repeats=1, size=20_000)
    sane(figures)
    assert any(f.target is not None for f in figures)
    console = Console(width=200, record=True)
    console.print(table(figures, "t"))
    assert "pairs/s" in console.export_text()


def test_polling_benchmark_across_processes() -> None:
    result = polling.poll_cycles(20, cycles=1, page_bytes=5_000)
    assert result["statuses"] == {"changed": 2, "not_modified": 18}
    assert result["delivered"] == result["events"] >= 2  # delivery on: every event reached the platform
    assert 1 <= result["connections"] <= 20
    assert result["startup"] > 0 and result["reload"] > 0
    assert result["wall"] > 0 and result["cpu"] > 0 and result["rss"] > 10


async def test_command_latency_in_process() -> None:
    figures = await command_latency(30, queries=20, slack_seconds=0)
    sane(figures)


async def test_held_check_reads_no_rows_when_nothing_changed() -> None:
    sane(await held_refresh.measure(30, repeats=1, calls=2))


async def test_fanout_delivers_each_channel_once() -> None:
    figures = await fanout.discord_fanout(4, settle=0.0) + await fanout.slack_fanout(3, alerts=2, burst=1)
    sane(figures)
    assert all(f.note.startswith("0 dropped, 0 duplicated") for f in figures)
    slack = figures[-1]  # one message a second per channel, burst 1: the second waits out a 429
    assert slack.value >= 1.0 and " 0 429s" not in slack.note and "0 channels out of order" in slack.note


async def test_alert_latency_over_many_stories() -> None:
    from bench import alert_scale

    figures = await alert_scale.measure(40, interval=5.0, jitter=0.5, every=10)  # the least interval
    sane(figures)
    assert "4 stories changed" in figures[0].note and figures[-1].passed is not None


def test_workers_benchmark_against_sqlite(postgres_url: str) -> None:
    """The fixture only decides skip (unreachable) or fail (under CI); the benchmark makes its own
    schemas on the same server and drops them."""
    figures = workers.measure(20, cycles=1, counts=(1, 2), page_bytes=5_000)
    sane(figures)
    assert len(figures) == 3 + 2 * 4
    assert all(f.ratio is not None for f in figures if "worker" in f.name and "PostgreSQL CPU" not in f.name)


def test_workers_benchmark_skips_when_postgresql_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYBOT_TEST_POSTGRES", "postgresql://bench:hunter2@127.0.0.1:9/none")
    [figure] = workers.measure(20, cycles=1)
    assert figure.passed is None and figure.note.startswith("skipped: PostgreSQL at")
    assert "hunter2" not in figure.note
