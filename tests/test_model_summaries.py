"""Optional model summaries against a real loopback chat-completions server (tests/fakes/chat_model.py),
through the real pipeline, store and address policy."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.render import alert_to_embed
from adapters.slack.render import alert_to_blocks
from bot.app import StoryBot
from bot.catalog import sync_catalog
from bot.config import Config, ConfigError, parse_config
from bot.deliver import Dispatcher
from bot.fetch import make_client
from bot.model_summaries import ModelSummarizer, clean, endpoint_from
from bot.storage import Store, open_store
from tests.fakes.chat_model import FakeChatModel
from tests.helpers import NOV9, NOV11, SEED_SUMMARY_START, kherson_config, poll_file
from tests.recording import RecordingSender

KEY = "sk-test-0123456789abcdefSECRET"
ANSWER = "Russia says its withdrawal from Kherson is complete, with no equipment left behind."
ORIGINAL_LEAD = "In what is widely being labeled a blow for Vladimir Putin"


@pytest.fixture
async def model() -> AsyncIterator[FakeChatModel]:
    async with FakeChatModel(key=KEY) as fake:
        yield fake


def env_for(model: FakeChatModel, **more: str) -> dict[str, str]:
    return {"SB_MODEL_URL": model.base_url, "SB_MODEL_KEY": KEY, **more}


def config_for(tmp_path: Path, *, timeout: float = 10, allow_loopback: bool = True) -> Config:
    summaries = {
        "url_env": "SB_MODEL_URL",
        "model": "fake-model",
        "key_env": "SB_MODEL_KEY",
        "timeout": timeout,
    }
    storybot: dict[str, Any] = {"database": str(tmp_path / "storybot.db"), "files_dir": "."}
    if allow_loopback:
        storybot["allow_hosts"] = ["127.0.0.1"]  # the admin allows the local model server
    return kherson_config(tmp_path, ["rec:news"], summaries=summaries, storybot=storybot)


async def poll_update(config: Config, store: Store, env: dict[str, str], content: Path | str = NOV11) -> Any:
    """Poll the story's next snapshot with a summarizer as `storybot run` builds it."""
    endpoint = endpoint_from(config.summaries, env)
    assert endpoint is not None
    async with make_client(policy=config.address_policy) as client:
        return await poll_file(config, store, content, ModelSummarizer(client, endpoint))


async def tracked(config: Config) -> Store:
    store = await open_store(config.database({}))
    await sync_catalog(store, config)
    await poll_file(config, store, NOV9)  # the baseline: nothing new, nothing asked
    return store


async def test_the_models_summary_is_stored_with_the_event_and_never_asked_for_again(
    tmp_path: Path, model: FakeChatModel
) -> None:
    config = config_for(tmp_path)
    model.answer(f'<think>The user wants a summary.</think> Summary: "{ANSWER}"')
    async with await tracked(config) as store:
        outcome = await poll_update(config, store, env_for(model))
        [event] = outcome.events
        assert event.summary == ANSWER
        alert = await store.alert(outcome.event_ids[0])
        assert alert.summary == ANSWER
        view = await store.story_view("kherson")
        assert view is not None and view.latest is not None and view.latest.summary == ANSWER
        # a retry of the delivery, then a re-poll of the same page: nothing asks the model
        sender = RecordingSender(platform="rec", failures={"news": [_transient()]})
        dispatcher = Dispatcher(store, {"rec": sender}, backoff=0)
        await dispatcher.deliver_pending()
        await dispatcher.deliver_pending()
        assert [a.summary for _, a, _ in sender.posted] == [ANSWER]
        await poll_update(config, store, env_for(model))
    async with await open_store(config.database({})) as store:  # a restart
        await poll_update(config, store, env_for(model))
        assert (await store.alert(outcome.event_ids[0])).summary == ANSWER
    assert len(model.requests) == 1
    [request] = model.requests
    assert request.body["model"] == "fake-model" and request.body["stream"] is False
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert SEED_SUMMARY_START in request.user_text  # the new section
    assert ORIGINAL_LEAD in request.user_text  # the previous section's summary, as context
    assert "Before this update" in request.user_text


def _transient() -> Any:
    from bot.ports import DeliveryError

    return DeliveryError("platform hiccup")


FAULTS: dict[str, Callable[[FakeChatModel], None]] = {
    "a 500": lambda m: m.fail(500),
    "a 503": lambda m: m.fail(503),
    "garbage, not JSON": lambda m: m.garbage(),
    "JSON without choices": lambda m: m.garbage(b'{"object": "chat.completion", "choices": []}'),
    "an empty answer": lambda m: m.answer(""),
    "blank space": lambda m: m.answer(" \n\t "),
    "not text": lambda m: m.answer({"summary": ANSWER}),
    "a refusal": lambda m: m.answer("I'm sorry, but I can't help with summarising this article."),
    "a rambling answer": lambda m: m.answer("The update says a great deal. " * 200),
    "code": lambda m: m.answer('```json\n{"summary": "Kherson"}\n```'),
    "a hang past the timeout": lambda m: m.hang(),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_anything_but_a_clean_answer_keeps_the_extractive_summary(
    tmp_path: Path, model: FakeChatModel, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_for(tmp_path, timeout=0.5)
    FAULTS[fault](model)
    with caplog.at_level(logging.WARNING, logger="bot.model_summaries"):
        async with await tracked(config) as store:
            outcome = await poll_update(config, store, env_for(model))
            [event] = outcome.events
            alert = await store.alert(outcome.event_ids[0])
    assert event.summary.startswith(SEED_SUMMARY_START) and alert.summary == event.summary
    assert len(model.requests) == 1
    assert any("extractive summary kept" in r.getMessage() for r in caplog.records)
    assert KEY not in caplog.text


async def test_a_wrong_key_keeps_the_extractive_summary_and_never_logs_the_key(
    tmp_path: Path, model: FakeChatModel, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_for(tmp_path)
    with caplog.at_level(logging.WARNING):
        async with await tracked(config) as store:
            outcome = await poll_update(
                config, store, env_for(model, SB_MODEL_KEY="sk-wrong-0123456789abcdefXYZ")
            )
    assert outcome.events[0].summary.startswith(SEED_SUMMARY_START)
    assert "HTTP 401" in caplog.text and "sk-wrong" not in caplog.text and KEY not in caplog.text


async def test_a_loopback_model_server_needs_the_admins_allowance(
    tmp_path: Path, model: FakeChatModel, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_for(tmp_path, allow_loopback=False)
    with caplog.at_level(logging.WARNING, logger="bot.model_summaries"):
        async with await tracked(config) as store:
            outcome = await poll_update(config, store, env_for(model))
    assert outcome.events[0].summary.startswith(SEED_SUMMARY_START)
    assert model.requests == []  # refused before a connection was made
    assert "refused" in caplog.text.lower()


async def test_model_text_is_escaped_like_any_story_text(tmp_path: Path, model: FakeChatModel) -> None:
    config = config_for(tmp_path)
    model.answer("Troops *left* the city as @everyone cheered <!channel>.")
    async with await tracked(config) as store:
        outcome = await poll_update(config, store, env_for(model))
        alert = await store.alert(outcome.event_ids[0])
    _, blocks = alert_to_blocks(alert)
    slack_text = str(blocks)
    assert "*left*" not in slack_text and "<!channel>" not in slack_text and "&lt;!channel&gt;" in slack_text
    embed = alert_to_embed(alert)
    assert "\\*left\\*" in (embed.description or "") and "@everyone" not in (embed.description or "")


def test_clean_keeps_one_or_two_sentences_and_refuses_junk() -> None:
    assert clean("  'Kyiv retook the city. Crowds gathered. Shelling resumed later.'  ", 280) == (
        "Kyiv retook the city. Crowds gathered."
    )
    assert clean("<think>\nhmm\n</think>\nAnswer: The bridge was\x00\x07 destroyed overnight.", 280) == (
        "The bridge was destroyed overnight."
    )
    long_sentence = "The ministry said " + "many things " * 40 + "today."
    cut = clean(long_sentence, 120)
    assert cut is not None and len(cut) <= 120 and cut.endswith("…")
    for junk in (None, 42, ["a"], "", "ok", "As an AI language model, I cannot browse.", "<|im_end|>", "{}"):
        assert clean(junk, 280) is None, junk


def test_the_endpoint_comes_from_the_environment_and_hides_its_key(caplog: pytest.LogCaptureFixture) -> None:
    config = parse_config(
        {"summaries": {"url_env": "U", "model": "m", "model_env": "M", "key_env": "K"}}, "test"
    ).summaries
    endpoint = endpoint_from(config, {"U": "http://127.0.0.1:8080/v1/", "M": "qwen", "K": KEY})
    assert endpoint is not None
    assert (endpoint.url, endpoint.model, endpoint.key) == (
        "http://127.0.0.1:8080/v1/chat/completions",
        "qwen",
        KEY,
    )
    assert KEY not in repr(endpoint)
    with caplog.at_level(logging.WARNING):
        assert endpoint_from(config, {}) is None  # the variable unset: extractive summaries
    assert "U is not set" in caplog.text
    assert endpoint_from(None, {"U": "http://x"}) is None


def test_summaries_config_is_checked_and_a_pasted_key_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"summaries": {"url_env": "U", "key_env": KEY, "timeout": 0, "colour": "red"}}, "test")
    text = str(err.value)
    assert "summaries.key_env" in text and KEY not in text
    assert "summaries.timeout" in text and "summaries.colour" in text


async def test_storybot_asks_the_configured_model_once_per_new_update(
    tmp_path: Path, model: FakeChatModel
) -> None:
    config = config_for(tmp_path)
    model.answer(ANSWER)
    story_file = config.resolve_path("kherson.txt")
    async with await StoryBot.create(config, environ=env_for(model)) as bot:
        assert bot.summarizer is not None and KEY not in repr(bot.summarizer)
        story_file.write_text(NOV9.read_text(encoding="utf-8"), encoding="utf-8")
        await bot.poll("kherson")
        story_file.write_text(NOV11.read_text(encoding="utf-8"), encoding="utf-8")
        outcome = await bot.poll("kherson")
        assert outcome is not None and [e.summary for e in outcome.events] == [ANSWER]
        await bot.poll("kherson")
    assert len(model.requests) == 1
