"""Config: a good file loads; each bad one names the file, the key and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.registry import validate_platforms
from bot.__main__ import main
from bot.config import ConfigError, load_config

GOOD = """
[storybot]
interval = 120
admins = ["slack:U1"]
files_dir = "."

[[stories]]
id = "kherson"
path = "story.txt"
aliases = ["Ukraine"]

[[stories]]
id = "budget"
url = "https://news.example/budget"
interval = 30

[[routes]]
stories = ["kherson"]
channels = ["slack:C1", "discord:42"]

[[routes]]
keywords = ["ukraine"]
channels = ["console:main"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_config_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    kherson, budget = config.stories
    assert kherson.aliases == ("ukraine",)
    assert config.interval_for(kherson) == 120 and config.interval_for(budget) == 30
    assert config.resolve_path(kherson.source) == tmp_path / "story.txt"
    assert config.channels_for(kherson) == ("slack:C1", "discord:42", "console:main")
    assert config.channels_for(budget) == ()
    assert config.channels_for(budget, "talks on Ukraine aid") == ("console:main",)
    assert config.is_admin("slack", "U1") and not config.is_admin("discord", "U1")


def test_example_config_is_valid() -> None:
    config = load_config(Path(__file__).parent.parent / "config.example.toml")
    assert validate_platforms(config) == []
    assert config.resolve_path(config.stories[0].source).exists()


def test_a_digest_route_holds_its_channels_unless_another_route_sends_them_at_once(tmp_path: Path) -> None:
    text = GOOD.replace(
        'channels = ["slack:C1", "discord:42"]', 'channels = ["slack:C1", "discord:42"]\ndigest = "2H"'
    )
    text += '\n[[routes]]\nstories = ["*"]\nchannels = ["slack:C1"]\n'
    text += '\n[[routes]]\nstories = ["kherson"]\nchannels = ["console:main", "console:day"]\ndigest = "1d"\n'
    config = load_config(write(tmp_path, text))
    kherson, budget = config.stories
    assert config.routes[0].digest == "2h" and config.routes[0].digest_period == 7200
    assert config.routes[1].digest_period is None  # "immediate", the default
    # slack:C1 is also sent at once by the "*" route; console:main by the keyword route
    assert config.digest_periods(kherson) == {"discord:42": 7200, "console:day": 86400}
    assert config.channels_for(kherson) == ("slack:C1", "discord:42", "console:main", "console:day")
    assert config.digest_periods(budget) == {}


BAD = [
    ("[[stories]]\nid='a'\npath='x'\ninterval=1\n", "stories[0].interval", "greater than or equal to 5"),
    ("[[stories]]\nid='A B'\npath='x'\n", "stories[0].id", "pattern"),
    ("[[stories]]\nid='a'\n", "stories[0]", "exactly one of 'url' or 'path'"),
    ("[[stories]]\nid='a'\nurl='ftp://x'\n", "stories[0].url", "http"),
    ("[[stories]]\nid='a'\npath='x'\ncolour='red'\n", "stories[0].colour", "unknown key"),
    ("[[stories]]\nid='a'\npath='x'\n[[stories]]\nid='a'\npath='y'\n", "stories", "duplicate id a"),
    ("[[routes]]\nstories=['nope']\nchannels=['slack:C1']\n", "routes[0].stories", "unknown story id nope"),
    ("[[routes]]\nstories=['*']\nchannels=['C1']\n", "routes[0].channels", "platform:channel_id"),
    ("[[routes]]\nchannels=['slack:C1']\n", "routes[0]", "give 'stories'"),
    ("[storybot]\nadmins=['bob']\n", "storybot.admins", "platform:user_id"),
    (
        "[[routes]]\nstories=['*']\nchannels=['slack:C1']\ndigest='hourly'\n",
        "routes[0].digest",
        '"30m", "2h"',
    ),
    ("[[routes]]\nstories=['*']\nchannels=['slack:C1']\ndigest='30s'\n", "routes[0].digest", "immediate"),
    ("[[routes]]\nstories=['*']\nchannels=['slack:C1']\ndigest='8d'\n", "routes[0].digest", '"7d"'),
    ("[storybot]\ntimeout='soon'\n", "storybot.timeout", "valid number"),
    ("[storybot]\ndatabse='x.db'\n", "storybot.databse", "unknown key"),
    ("slack = 3\n", "slack", "must be a table"),
    ("stories = [\n", "", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "key", "message"), BAD)
def test_bad_config_names_the_key(tmp_path: Path, text: str, key: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = str(caught.value)
    assert str(path) in error
    assert any(p.startswith(key) and message in p for p in caught.value.problems), error


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    """Field errors must not hide the rules between keys (pydantic skips model validators
    once a field fails), nor one rule the next."""
    path = write(
        tmp_path,
        "[storybot]\ninterval=1\njitter=-1\n"
        "[[stories]]\nid='a'\n"  # no url or path
        "[[stories]]\nid='b'\npath='x'\n[[stories]]\nid='b'\nurl='http://x'\n"
        "[[routes]]\nstories=['nope']\nchannels=['slack:C1']\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "storybot.interval",
        "storybot.jitter",
        "stories[0]",
        "stories",
        "routes[0].stories",
    ]


@pytest.mark.parametrize("text", ["", "\n# nothing yet\n", "[storybot]\ninterval = 60\n"])
def test_a_file_without_stories_is_an_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert caught.value.problems == ("stories: no story to track (add a [[stories]] or a [[feeds]] table)",)


@pytest.mark.timeout(60)
def test_a_large_config_loads_in_linear_time(tmp_path: Path) -> None:
    """100,000 stories load in seconds (the duplicate-id check was quadratic: 108 s)."""
    import time

    stories = "".join(f'[[stories]]\nid = "s{i}"\nurl = "https://x.example/{i}"\n' for i in range(100_000))
    path = write(tmp_path, stories + '[[stories]]\nid = "s7"\npath = "dup"\n')
    started = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == ("stories: duplicate id s7",)
    assert time.perf_counter() - started < 20


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_unknown_platform_table_and_route_platform(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, GOOD + "\n[telegram]\ntoken_env='T'\n[[routes]]\nstories=['*']\nchannels=['irc:x']\n")
    )
    problems = validate_platforms(config)
    assert any(p.startswith("telegram: unknown table") for p in problems)
    assert any(p.startswith("routes[2].channels: unknown platform") for p in problems)


def test_check_command_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DISCORD_TOKEN"):  # GOOD routes to both
        monkeypatch.setenv(name, "set")
    (tmp_path / "story.txt").write_text("a story", encoding="utf-8")
    assert main(["--config", str(write(tmp_path, GOOD)), "check"]) == 0
    assert "config OK: 2 stories" in capsys.readouterr().out
    assert main(["--config", str(write(tmp_path, "[storybot]\ninterval=0\n")), "check"]) == 2
    assert "storybot.interval" in capsys.readouterr().err


REFUSED = """
[storybot]
allow_hosts = ["127.0.0.1:8080"]

[[stories]]
id = "metadata"
url = "http://169.254.169.254/latest/meta-data/?token=s3cret"

[[stories]]
id = "hex"
url = "http://0x7f.1/"

[[stories]]
id = "allowed"
url = "http://127.0.0.1:8080/story"

[[stories]]
id = "climb"
path = "seeds/../../etc/passwd"

[[stories]]
id = "seed"
path = "seeds/story.txt"
"""


def test_check_names_each_refused_source_by_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "story.txt").write_text("a story", encoding="utf-8")
    assert main(["--config", str(write(tmp_path, REFUSED)), "check"]) == 2
    lines = capsys.readouterr().err.splitlines()[1:]
    keys = [line.split(":")[0].strip() for line in lines]
    assert keys == ["stories[0].url", "stories[1].url", "stories[3].path"]
    assert "169.254.169.254 is a link-local address" in lines[0] and "s3cret" not in lines[0]
    assert "0x7f.1 resolves to 127.0.0.1, which is a loopback address" in lines[1]
    assert "outside files_dir" in lines[2]


def _storybot_table(**keys: object) -> dict[str, object]:
    return {"storybot": keys, "stories": [{"id": "k", "path": "k.txt"}]}


def test_the_database_is_a_file_next_to_the_config_a_url_or_a_variable(tmp_path: Path) -> None:
    from bot.config import parse_config

    assert parse_config(_storybot_table(), "t", tmp_path).database({}) == str(tmp_path / "storybot.db")
    url = "postgresql://bot@db.example/storybot"
    assert parse_config(_storybot_table(database=url), "t", tmp_path).database({}) == url
    from_env = parse_config(_storybot_table(database_env="STORYBOT_DATABASE_URL"), "t", tmp_path)
    assert from_env.database({"STORYBOT_DATABASE_URL": url}) == url
    with pytest.raises(ConfigError, match="STORYBOT_DATABASE_URL is not set"):
        from_env.database({})


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ({"retention_days": 0}, "storybot.retention_days: Input should be greater than or equal to 1"),
        ({"retention_days": "a month"}, "storybot.retention_days: Input should be a valid integer"),
        ({"database_env": "postgresql://bot:Hunter2Secret99@db/x"}, "storybot.database_env: must name"),
    ],
)
def test_database_keys_are_validated_and_a_pasted_secret_never_echoed(
    tmp_path: Path, keys: dict[str, object], problem: str
) -> None:
    from bot.config import parse_config

    with pytest.raises(ConfigError) as err:
        parse_config(_storybot_table(**keys), "t", tmp_path)
    assert problem in str(err.value) and "Hunter2Secret99" not in str(err.value)
