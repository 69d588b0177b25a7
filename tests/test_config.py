import pytest

from bot.config import DEFAULT_SLACK_API_URL, ConfigError, load_settings


def test_defaults_from_an_empty_environment():
    settings = load_settings({})
    assert settings.db_path == "tutor.db"
    assert settings.timezone == "UTC"
    assert settings.admins == frozenset()
    assert settings.slack_api_url == DEFAULT_SLACK_API_URL
    assert settings.slack_bot_token is None


def test_reads_every_variable():
    settings = load_settings({
        "TUTOR_DB": "/data/t.db", "TUTOR_TZ": "Europe/Berlin", "TUTOR_ADMINS": "U012AB3CD, W0XYZ12",
        "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "s3",
        "SLACK_API_URL": "http://127.0.0.1:9999/api", "TUTOR_BROKER_URL": "redis://queue.internal:6379/2",
    })
    assert settings.broker_url == "redis://queue.internal:6379/2"
    assert load_settings({}).broker_url is None  # unset: the bot runs its own worker
    assert load_settings({}).worker_prewarm
    assert not load_settings({"TUTOR_WORKER_PREWARM": "0"}).worker_prewarm
    assert settings.db_path == "/data/t.db"
    assert settings.timezone == "Europe/Berlin"
    assert settings.admins == {"U012AB3CD", "W0XYZ12"}
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"  # slash added for slack_sdk
    assert (settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret) == (
        "xoxb-1", "xapp-1", "s3")


@pytest.mark.parametrize(("env", "named"), [
    ({"TUTOR_TZ": "Mars/Olympus"}, "TUTOR_TZ"),
    ({"TUTOR_ADMINS": "alice"}, "TUTOR_ADMINS"),
    ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
    ({"SLACK_BOT_TOKEN": "xapp-wrong-kind"}, "SLACK_BOT_TOKEN"),
    ({"SLACK_APP_TOKEN": "xoxb-wrong-kind"}, "SLACK_APP_TOKEN"),
    ({"TUTOR_BROKER_URL": "amqp://guest@localhost//"}, "TUTOR_BROKER_URL=.* must be a Redis URL"),
    ({"TUTOR_WORKER_PREWARM": "later"}, "TUTOR_WORKER_PREWARM"),
])
def test_malformed_variables_are_named(env, named):
    with pytest.raises(ConfigError, match=named):
        load_settings(env)


def test_socket_mode_needs_bot_and_app_tokens():
    with pytest.raises(ConfigError) as excinfo:
        load_settings({}).require_slack(socket_mode=True)
    assert "SLACK_BOT_TOKEN" in str(excinfo.value) and "SLACK_APP_TOKEN" in str(excinfo.value)


def test_http_mode_needs_the_signing_secret():
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        settings.require_slack(socket_mode=False)
    load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}).require_slack(socket_mode=False)
