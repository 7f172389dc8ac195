"""The bot process the crash tests kill: one delivery pass, as `storybot run` makes it.

`python -m tests.crash.child SPEC_JSON` opens the real SQLite store, builds the real Slack or
Discord adapter pointed at a fake in the test process, sends what is due through the real
Dispatcher, and prints the report as one JSON line. It has no hooks of its own: the fakes
decide where it stops (tests/fakes/holds.py).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from adapters import registry
from bot.commands import Commands
from bot.deliver import Dispatcher
from bot.storage import open_store
from tests.helpers import kherson_config


async def deliver_once(spec: dict[str, Any]) -> dict[str, int]:
    config = kherson_config(Path(spec["dir"]), spec["channels"])
    store = await open_store(config.database({}))
    try:
        commands = Commands(store, lambda: config)
        module = registry.platform_module(spec["platform"])
        adapter = module.build(spec["table"], commands, spec["env"])
        await adapter.start()
        try:
            dispatcher = Dispatcher(store, {adapter.platform: adapter}, concurrency=spec["concurrency"])
            report = await dispatcher.deliver_pending()
        finally:
            await adapter.close()
    finally:
        await store.close()
    return {"sent": report.sent, "failed": report.failed, "retrying": report.retrying, "found": report.found}


def main() -> None:
    spec = json.loads(sys.argv[1])
    print(json.dumps(asyncio.run(deliver_once(spec))), flush=True)


if __name__ == "__main__":
    main()
