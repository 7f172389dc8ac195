"""storybot as a service runs it: a real `storybot run` process with its stderr piped (as under
systemd or Docker), signalled as a service manager signals it; and the fast start of `--help`."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import NOV9

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
[storybot]
database = "bot.db"
files_dir = "."
jitter = 0

[[stories]]
id = "kherson"
path = "kherson.txt"
interval = 60

[[routes]]
stories = ["kherson"]
channels = ["console:newsroom"]
"""
SECOND_STORY = """
[[stories]]
id = "second"
path = "kherson.txt"
"""
#: one plain log line: timestamp, level, logger, message; never padded, never wrapped
PLAIN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: \S")
WAIT = 30.0


class Running:
    """A `storybot run` subprocess whose stderr lines are read as they come."""

    def __init__(self, config: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
        env["COLUMNS"] = "40"  # rich would wrap at this width: plain lines must not
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *args, "-c", str(config), "run"],
            cwd=config.parent,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str) -> str:
        """The first line (from here on) containing `text`; fails after WAIT seconds."""
        deadline = time.monotonic() + WAIT
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                code = self.proc.wait()
                pytest.fail(f"storybot exited ({code}) before {text!r}:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if text in line:
                return line
        pytest.fail(f"no {text!r} within {WAIT}s:\n" + "\n".join(self.lines))

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=WAIT)
        while (line := self._queue.get(timeout=WAIT)) is not None:
            self.lines.append(line)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)
        self._reader.join(timeout=WAIT)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    shutil.copy(NOV9, tmp_path / "kherson.txt")
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def start(config: Path) -> Iterator[type[Running]]:
    started: list[Running] = []

    class Started(Running):
        def __init__(self, *args: str) -> None:
            super().__init__(config, *args)
            started.append(self)

    yield Started
    for run in started:
        run.kill()


def test_piped_run_writes_one_plain_line_per_record_and_stops_on_sigterm(
    config: Path, start: type[Running]
) -> None:
    run = start()
    run.wait_for("storybot running")
    run.wait_for("story kherson: now tracking")
    config.write_text(CONFIG + "\n[[routes]]\nchannels = []\n", encoding="utf-8")  # invalid: 2 problems
    run.proc.send_signal(signal.SIGHUP)
    refused = run.wait_for("config change ignored")
    assert run.stop() == 0
    assert run.lines, "nothing was logged"
    for line in run.lines:
        assert PLAIN.match(line), f"not one plain log line: {line!r}"
        assert line == line.rstrip(), f"padded: {line!r}"
    # a multi-line message (the config's problems) stays one record on one line
    assert "\\n" in refused and "routes[1].channels" in refused
    assert any("SIGTERM: stopping" in line for line in run.lines)
    assert run.lines[-1].endswith("storybot stopped")
    assert not any("Traceback" in line for line in run.lines)


def test_sighup_reloads_the_config_even_when_its_mtime_did_not_move(
    config: Path, start: type[Running]
) -> None:
    run = start()
    run.wait_for("storybot running")
    before = config.stat()
    config.write_text(CONFIG + SECOND_STORY, encoding="utf-8")
    os.utime(config, ns=(before.st_atime_ns, before.st_mtime_ns))  # the timed check sees no change
    run.proc.send_signal(signal.SIGHUP)
    run.wait_for("(SIGHUP)")
    assert "config reloaded: 2 stories" in run.wait_for("config reloaded")
    assert any("polling second every" in line for line in run.lines)
    assert run.stop(signal.SIGINT) == 0
    tracebacks = [line for line in run.lines if "Traceback" in line or "KeyboardInterrupt" in line]
    assert tracebacks == []


def test_json_log_format_is_one_object_per_line(config: Path, start: type[Running]) -> None:
    config.write_text(CONFIG.replace('path = "kherson.txt"', 'path = "missing.txt"'), encoding="utf-8")
    run = start("--log-format", "json")
    run.wait_for("storybot running")
    run.wait_for("missing.txt")  # the failed fetch, a warning
    assert run.stop() == 0
    records = [json.loads(line) for line in run.lines]
    for record in records:
        assert {"ts", "level", "logger", "message"} <= set(record), record
    assert any(r["level"] == "WARNING" and r["logger"].startswith("bot.") for r in records)
    assert records[-1]["message"] == "storybot stopped"


def test_json_and_plain_lines_carry_extra_fields_redacted() -> None:
    import logging

    from bot.logsetup import JsonFormatter, PlainFormatter

    record = logging.makeLogRecord(
        {
            "name": "bot.fetch",
            "levelname": "WARNING",
            "msg": "fetch failed: %s\nretrying",
            "args": ("https://user:hunter2@example.com/a?token=s3cret&page=2",),
            "story": "kherson",
            "source": "https://example.com/feed?api_key=abc123",
            "headers": "{'Authorization': 'Bearer xoxb-1111-2222-secretpart'}",
            "gateway": "token MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.abcdefghijklmnopqrstuvwxyz0123",
        }
    )
    data = json.loads(JsonFormatter().format(record))
    assert data["story"] == "kherson" and data["logger"] == "bot.fetch" and data["level"] == "WARNING"
    assert data["message"] == "fetch failed: https://example.com/a?page=2\nretrying"
    assert data["source"] == "https://example.com/feed"
    plain = PlainFormatter().format(record)
    assert "\n" not in plain and "story=kherson" in plain and "fetch failed:" in plain
    assert data["headers"] == "{'Authorization': 'Bearer [redacted]'}"
    assert data["gateway"] == "token [redacted]"
    for secret in ("hunter2", "s3cret", "abc123", "secretpart", "GaBcDe"):
        assert secret not in plain and secret not in json.dumps(data)


def test_a_terminal_shows_tracebacks_redacted_too() -> None:
    """In a terminal (rich), an exception's text goes through the same redaction as a piped
    log's: a URL's credentials and a token in an error never reach the screen."""
    import io
    import logging

    from bot.logsetup import log_handler

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    handler = log_handler("auto", screen)
    try:
        raise RuntimeError(
            "POST https://user:hunter2@example.com/x?token=s3cret failed: Bearer xoxb-1111-2222-secret"
        )
    except RuntimeError:
        record = logging.getLogger("bot.test").makeRecord(
            "bot.test", logging.ERROR, __file__, 1, "delivery pass failed", (), sys.exc_info()
        )
    handler.handle(record)
    shown = screen.getvalue()
    assert "delivery pass failed" in shown and "RuntimeError" in shown
    for secret in ("hunter2", "s3cret", "xoxb-1111"):
        assert secret not in shown


def test_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--version"], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert done.returncode == 0 and re.fullmatch(r"storybot \d+\.\d+\.\d+\S*\n", done.stdout), done


#: what a fast start must not import: platform SDKs, the demo, the reading and queue stacks
HEAVY = (
    "slack_bolt", "slack_sdk", "discord", "trafilatura", "dateparser", "procrastinate", "psycopg",
    "psycopg_pool", "aiohttp", "httpx", "lxml", "apscheduler", "aiosqlite", "prometheus_client", "rich",
    "rapidfuzz", "bot.demo", "bot.app", "bot.read", "bot.storage.sqlite", "bot.storage.postgres",
)  # fmt: skip
#: `check` validates the config (pydantic) but needs no platform SDK, reader or store
HEAVY_FOR_CHECK = tuple(m for m in HEAVY if m != "rich")  # rich: not imported either, but harmless


def imported_by(args: list[str], cwd: Path) -> set[str]:
    """The modules `storybot <args>` has imported by the time it returns."""
    probe = (
        "import sys\nfrom bot.__main__ import main\n"
        "try:\n    code = main(sys.argv[1:])\nexcept SystemExit as end:\n    code = end.code\n"
        "print('\\n'.join(sys.modules), file=sys.stderr)\nsys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    return set(done.stderr.split())


def heavy_in(modules: set[str], heavy: tuple[str, ...]) -> list[str]:
    return sorted(h for h in heavy if h in modules or any(m.startswith(h + ".") for m in modules))


def test_help_imports_none_of_the_heavy_modules(tmp_path: Path) -> None:
    modules = imported_by(["--help"], tmp_path)
    assert "argparse" in modules and "bot.__main__" in modules  # the probe did run storybot
    assert heavy_in(modules, HEAVY) == []
    assert heavy_in(imported_by(["--version"], tmp_path), HEAVY) == []


def test_check_imports_no_platform_sdk_reader_or_store(config: Path) -> None:
    modules = imported_by(["-c", str(config), "check"], config.parent)
    assert "bot.config" in modules  # it did validate
    assert heavy_in(modules, HEAVY_FOR_CHECK) == []
