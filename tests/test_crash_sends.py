"""A bot process killed with SIGKILL at five points of a 20-channel fan-out, then restarted:
each channel ends with the alert exactly once, and every delivery row records the message
the platform holds. Real processes, the real store and adapters, loopback fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.crash.harness import FANOUT, POINTS, Rig, crash_then_restart, discord_rig, slack_rig
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import FakeSlack

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(params=["slack", "discord"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    if request.param == "slack":
        async with FakeSlack() as slack:
            yield slack_rig(slack)
    else:
        async with FakeDiscord() as discord:
            yield discord_rig(discord)


@pytest.mark.parametrize("point", list(POINTS))
async def test_killed_at_a_point_then_restarted_each_channel_gets_the_alert_once(
    rig: Rig, tmp_path: Path, point: str
) -> None:
    outcome = await crash_then_restart(rig, tmp_path, point)
    assert outcome.lost == [] and outcome.duplicated == [], (outcome.lost, outcome.duplicated)
    recorded = {r.channel: (r.status, r.message_id) for r in outcome.rows}
    assert recorded == {f"{rig.platform}:{c}": ("sent", ids[0]) for c, ids in outcome.posts.items()}
    assert len(recorded) == FANOUT


async def test_killed_with_eight_channels_in_flight_then_restarted_each_gets_it_once(
    rig: Rig, tmp_path: Path
) -> None:
    """The dispatcher's default concurrency: whatever else was mid-send when the kill came."""
    outcome = await crash_then_restart(rig, tmp_path, "midway", concurrency=8)
    assert outcome.lost == [] and outcome.duplicated == [], (outcome.lost, outcome.duplicated)
    assert {r.status for r in outcome.rows} == {"sent"}
