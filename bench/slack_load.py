"""Slack's side of benchmark 4, in its own process: sends signed /story slash commands to an
app's HTTP-mode request URL at a fixed rate and times the ack and the response_url answer.

It runs the fake Slack (tests/fakes/slack.py) for the app's auth.test and its response_url
posts, prints `{"api_url", "bot_token", "signing_secret"}`, then reads one JSON order from
stdin (`url`, `rate`, `count`, `queries`) and prints the latencies in ms. One warm-up request
goes first, untimed. Requests are sent on a fixed schedule (open loop): a slow app makes
requests overlap, as real users would.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack import FakeSlack

DRAIN_SECONDS = 30.0


async def fire(slack: FakeSlack, order: dict[str, Any]) -> dict[str, Any]:
    url, rate, count, texts = order["url"], float(order["rate"]), int(order["count"]), order["queries"]
    verifier = SignatureVerifier(slack.signing_secret)
    sent_at: dict[str, float] = {}
    answers: list[float] = []
    acks: list[float] = []
    statuses: dict[int, int] = {}

    def record(kind: str, item: Any) -> None:
        if kind == "response" and item.url in sent_at:
            answers.append((time.perf_counter() - sent_at.pop(item.url)) * 1000)

    slack.on_record = record

    async def one(session: aiohttp.ClientSession, text: str) -> None:
        form = slack.slash_command(text)
        body = urlencode(form)
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body) or "",
        }
        started = time.perf_counter()
        sent_at[form["response_url"]] = started
        async with session.post(url, data=body, headers=headers) as response:
            await response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.status == 200:
                acks.append((time.perf_counter() - started) * 1000)

    async with aiohttp.ClientSession() as session:
        # untimed: the app's first request pays bolt's auth.test and lazy imports, once
        await one(session, texts[-1])
        await slack.wait_for(lambda: not sent_at, timeout=DRAIN_SECONDS)
        acks.clear()
        answers.clear()
        statuses.clear()
        began = time.perf_counter()
        tasks = []
        for n in range(count):
            delay = began + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session, texts[n % len(texts)])))
        sending = time.perf_counter() - began
        await asyncio.gather(*tasks, return_exceptions=True)
        deadline = time.perf_counter() + DRAIN_SECONDS
        while sent_at and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
    return {
        "sent": count,
        "rate": (count - 1) / sending if sending > 0 else rate,
        "acks": acks,
        "answers": answers,
        "statuses": statuses,
    }


async def main() -> None:
    async with FakeSlack() as slack:
        facts = {
            "api_url": slack.api_url,
            "bot_token": slack.bot_token,
            "signing_secret": slack.signing_secret,
        }
        print(json.dumps(facts), flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            return
        result = await fire(slack, json.loads(line))
        print(json.dumps(result), flush=True)
        await asyncio.to_thread(sys.stdin.read)  # stay up (serving response_urls) until told to go


if __name__ == "__main__":
    asyncio.run(main())
