"""The command line as a user meets it: demo, check, poll, ask."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from tests.helpers import NOV9, NOV11, SEED_SUMMARY_START

CONFIG = """
[storybot]
database = "bot.db"
files_dir = "."

[[stories]]
id = "kherson"
path = "kherson.txt"
aliases = ["ukraine"]

[[routes]]
stories = ["kherson"]
channels = ["console:newsroom"]
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    shutil.copy(NOV9, tmp_path / "kherson.txt")
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_demo_shows_the_update_alert_then_answers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = " ".join(re.sub("[\u2500-\u257f]", " ", capsys.readouterr().out).split())  # no box borders
    alert_at = out.index("New update: Russia: Withdrawal From Kherson Is Complete")
    reply_at = out.index("/story kherson", alert_at)
    assert "baseline" in out[:alert_at] and "304 Not Modified" in out
    assert out.count("New update:") == 1
    assert " ".join(SEED_SUMMARY_START.split()) in out[reply_at:]


def test_poll_prints_events_then_ask_answers(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-c", str(config_file), "poll"]) == 0
    assert "kherson: baseline" in capsys.readouterr().out
    shutil.copy(NOV11, config_file.parent / "kherson.txt")
    assert main(["-c", str(config_file), "poll", "kherson"]) == 0
    out = capsys.readouterr().out
    assert "kherson: changed" in out and "new_update: Update" in out and SEED_SUMMARY_START in out
    assert main(["-c", str(config_file), "ask", "/story", "khersn"]) == 0
    assert "Russia now says" in capsys.readouterr().out


def test_poll_of_an_unknown_story_fails(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-c", str(config_file), "poll", "nope"]) == 2
    assert "unknown story: nope" in capsys.readouterr().err


def test_failed_poll_exits_non_zero(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (config_file.parent / "kherson.txt").unlink()
    assert main(["-c", str(config_file), "poll"]) == 1
    assert "kherson: failed" in capsys.readouterr().out


def test_bad_config_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.replace('id = "kherson"', 'id = "kherson"\ninterval = 2'), encoding="utf-8")
    assert main(["-c", str(path), "run"]) == 2
    assert "stories[0].interval" in capsys.readouterr().err


def test_chat_answers_typed_commands_until_quit(config_file: Path) -> None:
    assert main(["-c", str(config_file), "poll"]) == 0
    typed = "/story list\n/story ukrain\n\nquit\n/story never-read\n"
    run = subprocess.run(
        [sys.executable, "-m", "bot", "-c", str(config_file), "chat"],
        input=typed,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Tracking 1 story" in run.stdout
    assert "In what is widely being labeled a blow" in run.stdout
    assert "never-read" not in run.stdout


def _storybot(
    config: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    import os
    import time

    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "-c", str(config), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )
    return done, time.monotonic() - began


@pytest.mark.timeout(60)
def test_a_database_that_cannot_be_opened_exits_non_zero_at_once(config_file: Path) -> None:
    (config_file.parent / "bot.db").write_bytes(b"not a database at all " * 500)
    done, took = _storybot(config_file, "poll")
    assert done.returncode == 4 and took < 15
    assert "cannot open database" in done.stderr and "bot.db" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.timeout(60)
def test_an_unreachable_postgres_exits_non_zero_at_once_without_its_password(config_file: Path) -> None:
    config_file.write_text(
        CONFIG.replace('database = "bot.db"', 'database_env = "STORYBOT_DATABASE_URL"'), encoding="utf-8"
    )
    url = "postgresql://storybot:hunter2-secret@127.0.0.1:1/storybot"
    done, took = _storybot(config_file, "ask", "/story list", env={"STORYBOT_DATABASE_URL": url})
    assert done.returncode == 4 and took < 15
    assert "cannot open database postgresql://127.0.0.1:1/storybot" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout
