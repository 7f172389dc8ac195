"""Which platforms exist. Adding one is adding its package here and its table to config."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.base import ChatAdapter
    from bot.commands import Commands
    from bot.config import (
        Config,  # the platform SDKs load only when a platform is built (fast --help and check)
    )

PLATFORMS = {
    "console": "adapters.console",
    "slack": "adapters.slack",
    "discord": "adapters.discord",
}


def platform_module(name: str) -> ModuleType:
    return importlib.import_module(PLATFORMS[name])


def validate_platforms(config: Config) -> list[str]:
    """Problems in platform tables and in the platforms, channel ids and role ids that routes,
    admins, admin channels and manager roles name. Whether a channel id has the platform's
    form, and whether it has roles at all, is the platform's to say (its `channel_problem`,
    its `role_problem`): a channel's name where its id belongs is caught here,
    not at the first alert."""
    from bot.config import CHANNEL

    problems: list[str] = []
    for name, table in config.platforms.items():
        if name not in PLATFORMS:
            problems.append(
                f"{name}: unknown table (known: storybot, stories, routes, {', '.join(PLATFORMS)})"
            )
        else:
            problems += platform_module(name).validate(table)
    for key, ref in channel_refs(config):
        match = CHANNEL.match(ref)
        if match and match["platform"] not in PLATFORMS:
            problems.append(f"{key}: unknown platform in {ref!r}")
        elif match:
            problem = platform_module(match["platform"]).channel_problem(match["channel"])
            if problem:
                problems.append(f"{key}: {problem}")
    for ref in config.storybot.admins:
        if ref.partition(":")[0] not in PLATFORMS:
            problems.append(f"storybot.admins: unknown platform in {ref!r}")
    for ref in config.storybot.manager_roles:
        platform, _, role = ref.partition(":")
        if platform not in PLATFORMS:
            problems.append(f"storybot.manager_roles: unknown platform in {ref!r}")
        elif problem := platform_module(platform).role_problem(role):
            problems.append(f"storybot.manager_roles: {ref!r}: {problem}")
    return problems


def channel_refs(config: Config) -> list[tuple[str, str]]:
    """(config key, "platform:channel") for every channel routes and admin notices go to."""
    refs = [(f"routes[{n}].channels", ref) for n, route in enumerate(config.routes) for ref in route.channels]
    return refs + [("storybot.admin_channels", ref) for ref in config.storybot.admin_channels]


def secret_problems(config: Config, env: Mapping[str, str]) -> list[str]:
    """One line per platform that a route or admin channel sends to but whose secrets (the
    variables its table names) are not set: `storybot run` would not start it, and its
    alerts would wait for ever. Named by the first key that sends there."""
    problems: list[str] = []
    seen: set[str] = set()
    for key, ref in channel_refs(config):
        platform = ref.partition(":")[0]
        if platform in seen or platform not in PLATFORMS:
            continue
        seen.add(platform)
        unset = platform_module(platform).unset_secrets(config.platforms.get(platform, {}), env)
        if unset:
            problems.append(
                f"{key}: {ref!r} goes to {platform}, but {' and '.join(unset)} "
                f"{'is' if len(unset) == 1 else 'are'} not set in the environment ([{platform}] names them)"
            )
    return problems


def build_platforms(
    config: Config, commands: Commands, env: Mapping[str, str], *, listen: bool = True
) -> list[ChatAdapter]:
    """Every platform whose secrets are in `env`; the console when routes name it or none other starts.

    listen=False: senders only (a `storybot worker`): alerts go out over each platform's REST
    API, and no worker opens a Discord gateway or a Slack socket, which the front owns."""
    built: list[ChatAdapter] = []
    for name in PLATFORMS:
        if name == "console":
            continue
        adapter = platform_module(name).build(config.platforms.get(name, {}), commands, env, listen=listen)
        if adapter is not None:
            built.append(adapter)
    routed = {ref.partition(":")[0] for _, ref in channel_refs(config)}
    if not built or "console" in routed:
        built.insert(0, platform_module("console").build(config.platforms.get("console", {}), commands, env))
    return built


def add_platform_cli(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for name in PLATFORMS:
        module = platform_module(name)
        if hasattr(module, "add_cli"):
            module.add_cli(subparsers)
