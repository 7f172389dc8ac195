"""The fakes read history back the way the platforms do: order, paging, bounds, permissions.
storybot's crash recovery trusts these answers, so the fakes' side is pinned here."""

from __future__ import annotations

import time

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.discord import CHANNEL_IDS, FakeDiscord
from tests.fakes.slack import FakeSlack

C1 = CHANNEL_IDS[0]


async def test_discord_pages_newest_first_before_and_after_a_message() -> None:
    async with FakeDiscord(message_bucket=(100, 1.0)) as fake, aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bot {fake.token}"}
        url = f"{fake.api_base}/channels/{C1}/messages"
        ids = []
        for n in range(5):
            async with http.post(url, json={"content": f"m{n}"}, headers=headers) as response:
                ids.append(int((await response.json())["id"]))

        async def read(**query: object) -> tuple[int, list[int]]:
            params = {k: str(v) for k, v in query.items()}
            async with http.get(url, params=params, headers=headers) as response:
                assert response.headers["Content-Type"] == "application/json"
                body = await response.json()
                return response.status, [int(m["id"]) for m in body] if response.status == 200 else body

        assert await read(limit=2) == (200, [ids[4], ids[3]])
        assert await read(limit=2, before=ids[3]) == (200, [ids[2], ids[1]])
        assert await read(limit=2, after=ids[1]) == (200, [ids[3], ids[2]])  # the oldest past it
        assert (await read(limit=0))[0] == 400
        fake.deny_history(C1)
        assert (await read(limit=2))[0] == 403


async def test_discord_nonce_repeats_only_when_enforced() -> None:
    async with FakeDiscord() as fake, aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bot {fake.token}"}
        url = f"{fake.api_base}/channels/{C1}/messages"
        for enforce in (False, False, True, True):
            body = {"content": "x", "nonce": "n1", "enforce_nonce": enforce}
            async with http.post(url, json=body, headers=headers) as response:
                assert response.status == 200
        assert len(fake.messages[C1]) == 2 and fake.nonce_repeats == 2  # enforced ones repeat the last
        async with http.post(url, json={"content": "x", "nonce": "n" * 26}, headers=headers) as response:
            assert response.status == 400


async def test_slack_history_pages_by_cursor_and_shows_metadata_only_when_asked() -> None:
    async with FakeSlack() as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        start = f"{time.time() - 1:.6f}"
        for n in range(5):
            metadata = {"event_type": "storybot_alert", "event_payload": {"delivery": f"k{n}"}}
            await client.chat_postMessage(channel="C1", text=f"m{n}", metadata=metadata)
        page = await client.conversations_history(channel="C1", limit=2, oldest=start)
        assert [m["text"] for m in page["messages"]] == ["m4", "m3"] and page["has_more"]
        assert all("metadata" not in m for m in page["messages"])
        cursor = page["response_metadata"]["next_cursor"]
        rest = await client.conversations_history(
            channel="C1", limit=10, cursor=cursor, oldest=start, include_all_metadata=True
        )
        assert [m["metadata"]["event_payload"]["delivery"] for m in rest["messages"]] == ["k2", "k1", "k0"]
        assert rest["response_metadata"]["next_cursor"] == ""
        after_m2 = await client.conversations_history(channel="C1", oldest=rest["messages"][0]["ts"])
        assert [m["text"] for m in after_m2["messages"]] == ["m4", "m3"]  # oldest is exclusive
        with pytest.raises(SlackApiError, match="invalid_metadata_format"):
            await client.chat_postMessage(channel="C1", text="x", metadata={"event_type": "t"})
        fake.scopes.discard("channels:history")
        with pytest.raises(SlackApiError) as failure:
            await client.conversations_history(channel="C1")
        assert failure.value.response["error"] == "missing_scope"
        assert failure.value.response["needed"] == "channels:history"
