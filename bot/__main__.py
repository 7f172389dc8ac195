"""The storybot command line: the one place that joins the core with the platform adapters."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import logsetup

if TYPE_CHECKING:
    from adapters.base import ChatAdapter
    from adapters.console import ConsoleAdapter
    from bot.app import StoryBot
    from bot.commands import Commands
    from bot.config import Config

# Only what every command needs is imported above: each command imports its own modules (the
# platform SDKs, the demo, trafilatura, procrastinate...), so `--help` and `check` start fast.

log = logging.getLogger("storybot")
DEFAULT_CONFIGS = ("config.toml", "config.example.toml")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logsetup.configure(args.verbose, args.log_format)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 0
    # storybot uses no pydantic plugins: skip pydantic's scan of every installed package for
    # them (a tenth of `storybot check`'s start)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        config = None if getattr(args, "configless", False) else load_checked(_config_path(args))
        return int(args.handler(args, config) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        code = _exit_status(err)
        if code is None:
            raise
        print(err if code == 2 else f"storybot: {err}", file=sys.stderr)
        return code


def _exit_status(err: Exception) -> int | None:
    """2: invalid config; 3: a platform cannot start; 4: the database cannot be opened (said at
    once, never waited on); None: a bug, shown as a traceback. The exception classes are
    imported only when one is raised, so a command pays for no module it does not use."""
    from bot.config import ConfigError
    from bot.ports import StartError
    from bot.storage.errors import StoreError

    statuses: tuple[tuple[type[Exception], int], ...] = ((ConfigError, 2), (StartError, 3), (StoreError, 4))
    return next((code for kind, code in statuses if isinstance(err, kind)), None)


def load_checked(path: Path | None) -> Config:
    """What `storybot check` validates, and what a running bot's reload validates: the core
    tables and the platform tables. ConfigError lists every problem."""
    from adapters.registry import validate_platforms
    from bot.config import ConfigError, load_config

    if path is None:
        raise ConfigError("config.toml", ["file not found (copy config.example.toml to config.toml)"])
    return load_config(path, checks=[validate_platforms])


def _run(coro: Callable[[], Coroutine[Any, Any, int | None]]) -> int:
    import asyncio

    return int(asyncio.run(coro()) or 0)


# --- commands ----------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, config: Config) -> int:
    """Beyond what loading checks: sources the fetcher would refuse or that are missing, and
    platforms that routes send to whose secrets are not in the environment."""
    from adapters.registry import secret_problems
    from bot.config import ConfigError
    from bot.sources import source_problems

    refused = source_problems(config) + secret_problems(config, os.environ)
    if refused:
        print(ConfigError(str(_config_path(args) or "config"), refused), file=sys.stderr)
        return 2
    routes = sum(len(r.channels) for r in config.routes)
    print(f"config OK: {len(config.stories)} stories, {len(config.routes)} routes to {routes} channels")
    return 0


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    """What `/story status` shows: failing and paused stories, deliveries that failed for good."""

    from bot.health import status_text
    from bot.storage import open_store

    async def status() -> None:
        store = await open_store(config.database(os.environ))
        async with store:
            _print_piped(await status_text(store))

    return _run(status)


def cmd_resume(args: argparse.Namespace, config: Config) -> int:
    """`/story resume` from the shell: a running bot follows within PAUSED_REFRESH_SECONDS."""

    from bot.storage import open_store

    async def resume() -> int:
        store = await open_store(config.database(os.environ))
        async with store:
            if await store.story_record(args.story) is None:  # a chat-added story counts too
                print(f"unknown story: {args.story}", file=sys.stderr)
                return 2
            resumed = await store.resume_story(args.story)
        print(f"resumed {args.story}" if resumed else f"{args.story} is not paused")
        return 0

    return _run(resume)


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    """Until SIGTERM or SIGINT (then: stop polling, finish the sends under way, exit 0).
    SIGHUP reloads config.toml now, as a change to the file would."""
    import asyncio

    from adapters.registry import build_platforms
    from bot.app import StoryBot

    async def run() -> None:
        stop = asyncio.Event()
        running: list[StoryBot] = []
        _on_signals(stop, lambda: running[0].request_reload() if running else None)
        async with await StoryBot.create(config, _config_path(args), load=load_checked) as bot:
            running.append(bot)
            platforms = build_platforms(config, bot.commands, os.environ)
            await bot.attach(platforms)
            log.info(
                "storybot running: %s; %d stories",
                ", ".join(p.platform for p in platforms),
                len(config.stories),
            )
            await bot.run(stop, poll=not args.listen_only)
        log.info("storybot stopped")

    return _run(run)


def _on_signals(stop: Any, reload: Callable[[], object]) -> None:
    """SIGTERM and SIGINT set `stop` (a graceful stop, no traceback); SIGHUP calls `reload`."""
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _stopping, stop, sig)
    loop.add_signal_handler(signal.SIGHUP, reload)


def _stopping(stop: Any, sig: int) -> None:
    import signal

    if not stop.is_set():
        log.info("%s: stopping (sends under way are finished first)", signal.Signals(sig).name)
    stop.set()


def cmd_worker(args: argparse.Namespace, config: Config) -> int:
    """Run queued polls and deliveries until SIGTERM/SIGINT (then finish the jobs under way)."""
    from adapters.registry import build_platforms
    from bot.jobs.worker import run_worker

    def senders(commands: Commands) -> list[ChatAdapter]:
        return build_platforms(config, commands, os.environ, listen=False)

    try:
        return _run(
            lambda: run_worker(
                config,
                senders,
                os.environ,
                concurrency=args.concurrency,
                name=args.name,
                metrics=args.metrics,
            )
        )
    except NotImplementedError as err:  # the PostgreSQL store, until it lands (bot/jobs/store_access.py)
        print(f"storybot: {err}", file=sys.stderr)
        return 3


def cmd_poll(args: argparse.Namespace, config: Config) -> int:
    from bot.app import StoryBot
    from bot.textfmt import format_time

    async def poll() -> int:
        async with await StoryBot.create(config) as bot:
            failed = 0
            for feed in [] if args.story else config.feeds:  # a feed's new items are polled below
                read = await bot.read_feed(feed.id)
                assert read is not None
                print(f"feed {feed.id}: {read.status.value}" + (f" ({read.error})" if read.error else ""))
                for story_id in read.added:
                    print(f"  now tracking {story_id}")
                failed += read.error is not None
            ids = [args.story] if args.story else [s.id for s in bot.config.stories]  # chat's and feeds' too
            unknown = [i for i in ids if bot.config.story(i) is None]
            if unknown:
                print(f"unknown story: {', '.join(unknown)}", file=sys.stderr)
                return 2
            for story_id in ids:
                outcome = await bot.poll(story_id)
                assert outcome is not None
                print(
                    f"{story_id}: {outcome.status.value}" + (f" ({outcome.error})" if outcome.error else "")
                )
                for event in outcome.events:
                    when = format_time(event.published_at) if event.published_at else ""
                    print(f"  {event.kind.value}: {event.headline} {when}\n    {event.summary}")
                failed += outcome.error is not None
            return 1 if failed else 0

    return _run(poll)


def cmd_ask(args: argparse.Namespace, config: Config) -> int:
    from adapters.console import ConsoleAdapter
    from bot.app import StoryBot

    async def ask() -> None:
        async with await StoryBot.create(config) as bot:
            await ConsoleAdapter(bot.commands).ask(" ".join(args.text))

    return _run(ask)


def cmd_manage(args: argparse.Namespace, config: Config) -> int:
    """`storybot track|untrack|subscribe|...`: the `/story` verb of the same name, run as the
    operator (config.toml's own author), on the channel `--channel platform:id` names."""
    words = [args.verb, *getattr(args, "words", [])]
    if getattr(args, "name", None):
        words += ["as", args.name]
    if getattr(args, "duration", None):
        words += ["for", args.duration]
    if getattr(args, "digest", None):
        words += ["digest", args.digest]
    import getpass

    from bot.app import StoryBot
    from bot.models import Caller, ReplyKind

    channel = getattr(args, "channel", None)
    platform, _, channel_id = channel.partition(":") if channel else ("cli", "", "")

    async def manage() -> int:
        async with await StoryBot.create(config) as bot:
            caller = Caller(platform, getpass.getuser(), channel_id or None, operator=True)
            reply = await bot.commands.handle(" ".join(words), caller)
        print(reply.text, file=sys.stderr if reply.kind is ReplyKind.ERROR else sys.stdout)
        return 1 if reply.kind is ReplyKind.ERROR else 0

    return _run(manage)


def cmd_chat(args: argparse.Namespace, config: Config) -> int:
    from adapters.console import ConsoleAdapter
    from bot.app import StoryBot

    async def chat() -> None:
        async with await StoryBot.create(config) as bot:
            await ConsoleAdapter(bot.commands).chat()

    return _run(chat)


def cmd_demo(args: argparse.Namespace, config: Config | None) -> int:
    import tempfile

    from rich.console import Console

    from adapters.console import ConsoleAdapter
    from bot.app import StoryBot
    from bot.demo import DemoFailed, run_demo

    console = Console(highlight=False)

    async def demo() -> int:
        with tempfile.TemporaryDirectory(prefix="storybot-demo-") as workdir:
            adapters: list[ConsoleAdapter] = []

            def platforms(bot: StoryBot) -> list[ConsoleAdapter]:
                adapters.append(ConsoleAdapter(bot.commands, console=console))
                return adapters

            def say(text: str) -> None:
                console.print(f"[bold blue]demo[/bold blue] {text}", markup=True, highlight=False)

            try:
                bot = await run_demo(Path(workdir), platforms, say)
            except DemoFailed as err:
                print(f"storybot: demo failed: {err}", file=sys.stderr)
                return 1
            # the bot is closed; answer from a fresh one over the same database
            async with await StoryBot.create(bot.file_config) as again:
                say("A user asks: /story kherson")
                await ConsoleAdapter(again.commands, console=console).ask("/story kherson")
        return 0

    return _run(demo)


def cmd_init(args: argparse.Namespace, config: Config | None) -> int:
    """Write a commented config.toml (and the seed story it tracks); never overwrite."""
    from bot.starter import InitRefused, write_starter

    target = Path(args.path or args.config or "config.toml")
    try:
        written = write_starter(target)
    except InitRefused as err:
        print(f"storybot: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    print(f"next: edit {target}, then `storybot -c {target} check` and `storybot -c {target} run`")
    return 0


def cmd_preview(args: argparse.Namespace, config: Config | None) -> int:
    """Print what storybot reads on a page. 0: it has sections; 1: it has none; 2: fetch failed."""
    import asyncio

    from bot.preview import FetchFailed, fetch_preview, json_text, render_text

    try:
        with _quiet("bot.fetch", unless=args.verbose):  # its failure is printed once, below
            found = asyncio.run(fetch_preview(args.source, allow_private=args.allow_private))
    except FetchFailed as err:
        print(f"storybot: fetch failed: {err}", file=sys.stderr)
        return 2
    _print_piped(json_text(found) if args.json else render_text(found, full=args.full))
    return 0 if found.ok else 1


def _print_piped(text: str) -> None:
    """Print `text`; a reader that stops early (`| head`) ends the output quietly."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # Python flushes stdout again at exit, which would raise again: point it at nowhere
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@contextmanager
def _quiet(logger: str, *, unless: bool) -> Iterator[None]:
    """Hide `logger`'s warnings for the duration (not when `unless`), then restore its level."""
    target = logging.getLogger(logger)
    level = target.level
    if not unless:
        target.setLevel(logging.ERROR)
    try:
        yield
    finally:
        target.setLevel(level)


# --- wiring --------------------------------------------------------------------------------


def _config_path(args: argparse.Namespace) -> Path | None:
    if args.config:
        return Path(args.config)
    return next((Path(p) for p in DEFAULT_CONFIGS if Path(p).exists()), None)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storybot", description="Follow living news stories; alert chat channels."
    )
    parser.add_argument("-c", "--config", help="config file (default: config.toml, else config.example.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--log-format",
        choices=logsetup.FORMATS,
        default="auto",
        help="auto (default): columns in a terminal, one plain line per record otherwise; "
        "plain; json: one JSON object per line",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    sub = parser.add_subparsers(title="commands")
    run = sub.add_parser("run", help="poll on schedule and post alerts (console when no tokens)")
    run.add_argument(
        "--listen-only",
        action="store_true",
        help="answer /story and follow the config, but leave polling and alerts to storybot workers",
    )
    run.set_defaults(handler=cmd_run)
    worker = sub.add_parser(
        "worker",
        help="run queued polls and deliveries (procrastinate on PostgreSQL); start as many as you like",
        description="Run queued polls and deliveries from the PostgreSQL queue that [storybot] "
        "queue_database (or queue_database_env) names, applying its schema if missing. Any number "
        "may run, on any machines. SIGTERM or SIGINT: finish the jobs under way, then exit.",
    )
    worker.add_argument("--concurrency", type=_positive, default=4, help="jobs at a time (default 4)")
    worker.add_argument("--name", help="this worker's name in logs and the queue (default: worker)")
    worker.add_argument(
        "--metrics",
        type=_listen_address,
        metavar="ADDRESS",
        help="serve /metrics and /healthz on ADDRESS (host:port; port 0: any free one), over "
        "[storybot] metrics: each worker on a host needs its own",
    )
    worker.set_defaults(handler=cmd_worker)
    sub.add_parser(
        "check",
        help="validate the config: keys, channel ids, story paths and addresses, platform secrets",
    ).set_defaults(handler=cmd_check)
    sub.add_parser(
        "status", help="failing and paused stories, and deliveries that failed for good"
    ).set_defaults(handler=cmd_status)
    resume = sub.add_parser("resume", help="poll a story paused for failing again")
    resume.add_argument("story", help="the story id")
    resume.set_defaults(handler=cmd_resume)
    poll = sub.add_parser("poll", help="read each feed, poll once and print the events")
    poll.add_argument("story", nargs="?", help="one story id (default: all)")
    poll.set_defaults(handler=cmd_poll)
    ask = sub.add_parser("ask", help='answer one command, e.g. storybot ask "/story kherson"')
    ask.add_argument("text", nargs="+")
    ask.set_defaults(handler=cmd_ask)
    sub.add_parser("chat", help="a /story prompt in the terminal").set_defaults(handler=cmd_chat)
    sub.add_parser("demo", help="replay the seed story end to end, offline").set_defaults(
        handler=cmd_demo, configless=True
    )
    init = sub.add_parser(
        "init",
        help="write a commented config.toml to start from (never overwrites)",
        description="Write a commented config.toml to start from, with the seed story it tracks "
        "in seeds/ beside it. An existing file is never overwritten (exit 1).",
    )
    init.add_argument("path", nargs="?", help="where to write it (default: -c, else config.toml)")
    init.set_defaults(handler=cmd_init, configless=True)
    preview = sub.add_parser(
        "preview",
        help="print what storybot reads on a page; stores and alerts nothing, needs no config",
        description="Print what storybot reads on a page: head fields, each dated section, the "
        "furniture it dropped. Stores and alerts nothing; needs no config file. "
        "Exit 0 when the page has sections, 1 when it has none, 2 when the fetch fails.",
    )
    preview.add_argument("source", metavar="URL|FILE", help="an http(s) URL, a file:// URL or a local path")
    preview.add_argument(
        "--json", action="store_true", help="print a JSON object (always with whole paragraphs)"
    )
    preview.add_argument("--full", action="store_true", help="whole section bodies, not their first words")
    preview.add_argument(
        "--allow-private",
        action="store_true",
        help="also fetch from loopback and private addresses (a page on this machine or your network)",
    )
    preview.set_defaults(handler=cmd_preview, configless=True)
    _manage_cli(sub)
    from adapters.registry import add_platform_cli  # the light part of each platform: no SDK

    add_platform_cli(sub)
    return parser


class _Version(argparse.Action):
    """`--version`, looked up only when asked (importlib.metadata costs a --help 40 ms)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("storybot")
        except PackageNotFoundError:  # run from a source tree that was never installed
            found = "unknown"
        print(f"storybot {found}")
        parser.exit()


def _manage_cli(sub: Any) -> None:
    """The `/story` verbs that change what is tracked and who is told, for the terminal."""

    def verb(name: str, help_text: str, *, channel: bool = True) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
        if channel:
            parser.add_argument(
                "--channel", required=True, type=_channel, help="the channel, as platform:id (slack:C0123)"
            )
        parser.set_defaults(handler=cmd_manage, verb=name)
        return parser

    track = verb("track", "preview a page and track it (nothing already on it is news)", channel=False)
    track.add_argument("words", nargs=1, metavar="URL")
    track.add_argument("--as", dest="name", help="the story's name (default: from its title)")
    untrack = verb("untrack", "stop tracking a story added from chat or the CLI", channel=False)
    untrack.add_argument("words", nargs="+", metavar="NAME")
    for name, what in (("subscribe", "gets"), ("unsubscribe", "stops getting")):
        parser = verb(name, f"the channel {what} a story's alerts, or those of stories with keywords")
        parser.add_argument("words", nargs="+", metavar="NAME|KEYWORDS")
        if name == "subscribe":
            parser.add_argument(
                "--digest", help="one message per story per period: 30m, 2h, 1d (default: each alert at once)"
            )
    mute = verb("mute", "hold a story's alerts back from the channel")
    mute.add_argument("words", nargs="+", metavar="NAME")
    mute.add_argument("--for", dest="duration", help="how long: 30m, 2h, 3d, 1w (default: until unmuted)")
    verb("unmute", "the channel gets the story's alerts again").add_argument(
        "words", nargs="+", metavar="NAME"
    )
    verb("subscriptions", "what the channel gets alerts of")


def _channel(text: str) -> str:
    from bot.config import CHANNEL

    if not CHANNEL.match(text):
        raise argparse.ArgumentTypeError("must be platform:channel_id, e.g. slack:C0123 or discord:1234")
    return text


def _positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError("must be from 1 to 256")
    return value


def _listen_address(text: str) -> str:
    from bot.metrics import listen_address

    try:
        listen_address(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    return text.strip()


if __name__ == "__main__":
    sys.exit(main())
