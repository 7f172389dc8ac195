"""An empty demo is a broken install, never a quiet success."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.demo
from bot.__main__ import main
from bot.demo import DemoFailed, run_demo
from tests.recording import RecordingSender


async def test_a_demo_without_its_seed_story_fails(tmp_path: Path) -> None:
    with pytest.raises(DemoFailed, match="seed story is missing"):
        await run_demo(tmp_path, lambda bot: [RecordingSender()], print, snapshots=[tmp_path / "one.txt"])


async def test_a_demo_that_alerts_nothing_fails(tmp_path: Path) -> None:
    same = bot.demo.SEEDS / "kherson" / "2022-11-09T1210.txt"
    with pytest.raises(DemoFailed, match="not alerted"):
        await run_demo(tmp_path, lambda bot: [RecordingSender(platform="console")], print, [same, same])


def test_the_demo_command_exits_1_when_the_seeds_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bot.demo, "SEEDS", tmp_path)  # an install that lost its package data
    assert main(["demo"]) == 1
    assert "demo failed: the seed story is missing" in capsys.readouterr().err


def test_the_packaged_seeds_are_the_repository_seeds() -> None:
    root = Path(__file__).resolve().parent.parent / "seeds" / "kherson"
    packaged = sorted(p.name for p in (bot.demo.SEEDS / "kherson").glob("*.txt"))
    assert packaged == sorted(p.name for p in root.glob("*.txt")) and len(packaged) == 2
