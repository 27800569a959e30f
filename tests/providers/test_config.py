"""providers.config: the TOML file, SWITCHBOARD_* variables and secret files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.errors import ConfigProblem
from providers.config import Config, config_path, load


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def secret_file(tmp_path: Path, name: str, value: str, mode: int = 0o600) -> Path:
    path = write(tmp_path / name, value + "\n")
    os.chmod(path, mode)
    return path


def test_nothing_configured_means_the_sandbox_and_no_email(tmp_path: Path):
    config = load(tmp_path / "absent.toml", env={})
    assert config == Config()
    assert config.sms_provider == "sandbox"
    assert config.smtp is None
    assert (config.webhooks.host, config.webhooks.port) == ("127.0.0.1", 8780)


def test_the_file_is_found_in_the_xdg_config_dir_or_where_the_environment_says(tmp_path: Path):
    assert config_path({"SWITCHBOARD_CONFIG": str(tmp_path / "x.toml")}) == tmp_path / "x.toml"
    assert config_path({}).name == "config.toml"
    assert "switchboard" in config_path({}).parts


def test_a_sinch_service_plan_from_the_file_with_its_token_from_a_private_file(tmp_path: Path):
    token = secret_file(tmp_path, "token", "s3cret-token")
    path = write(
        tmp_path / "config.toml",
        f"""
[sinch]
service_plan_id = "plan-1"
region = "eu"
api_token_file = "{token}"

[webhooks]
public_url = "https://sms.example.org/"
port = 9000
""",
    )
    config = load(path, env={})
    assert config.sms_provider == "sinch"
    assert config.sinch is not None
    assert config.sinch.service_plan_id == "plan-1"
    assert config.sinch.api_token == "s3cret-token"
    assert config.sinch.region == "eu"
    assert config.webhooks.port == 9000
    assert config.webhooks.callback_url == "https://sms.example.org/sinch/events"
    assert "s3cret" not in repr(config), "secrets never appear in a repr (logs, tracebacks)"


def test_the_environment_wins_over_the_file(tmp_path: Path):
    path = write(tmp_path / "config.toml", '[sinch]\nservice_plan_id = "file"\nregion = "us"\n')
    config = load(
        path,
        env={
            "SWITCHBOARD_SINCH_SERVICE_PLAN_ID": "env",
            "SWITCHBOARD_SINCH_API_TOKEN": "t",
            "SWITCHBOARD_WEBHOOKS_PORT": "8123",
        },
    )
    assert config.sinch is not None
    assert config.sinch.service_plan_id == "env"
    assert config.webhooks.port == 8123


def test_project_access_keys_are_a_second_way_to_reach_sinch(tmp_path: Path):
    config = load(
        tmp_path / "absent.toml",
        env={
            "SWITCHBOARD_SINCH_PROJECT_ID": "proj",
            "SWITCHBOARD_SINCH_KEY_ID": "key",
            "SWITCHBOARD_SINCH_KEY_SECRET": "ks",
        },
    )
    assert config.sinch is not None
    assert not config.sinch.uses_service_plan
    assert config.sinch.key_secret == "ks"


def test_smtp_with_its_password_from_the_environment(tmp_path: Path):
    path = write(
        tmp_path / "config.toml",
        '[smtp]\nhost = "mail.example.org"\nport = 465\nsecurity = "tls"\n'
        'username = "sb"\nsender = "Switchboard <sb@example.org>"\n',
    )
    config = load(path, env={"SWITCHBOARD_SMTP_PASSWORD": "pw"})
    assert config.smtp is not None
    assert (config.smtp.host, config.smtp.port, config.smtp.security) == (
        "mail.example.org",
        465,
        "tls",
    )
    assert config.smtp.password == "pw"


@pytest.mark.parametrize(
    ("text", "env", "says"),
    [
        ('[sinch]\napi_token = "x"\n', {}, "is a secret and does not belong in the file"),
        ('[smtp]\npassword = "x"\n', {}, "SWITCHBOARD_SMTP_PASSWORD"),
        ('[sinch]\nservice_plan = "x"\n', {}, "unknown key 'service_plan' in [sinch]"),
        ("[sinhc]\n", {}, "unknown section [sinhc]"),
        ('[sinch]\nservice_plan_id = "p"\n', {}, "API token"),
        ('[sinch]\nproject_id = "p"\n', {}, "key_id"),
        (
            '[sinch]\nservice_plan_id = "p"\nregion = "mars"\n',
            {"SWITCHBOARD_SINCH_API_TOKEN": "t"},
            "region must be one of",
        ),
        ('[sms]\nprovider = "twilio"\n', {}, "'sandbox' or 'sinch'"),
        ('[webhooks]\nport = "eighty"\n', {}, "port must be a whole number"),
        ("[webhooks]\nport = 70000\n", {}, "port must be between 0 and 65535"),
        # Numbers a typo or an attacker writes: none crashes, each names its rule.
        ("[webhooks]\nport = 8780.5\n", {}, "port must be a whole number"),
        ("[webhooks]\nport = inf\n", {}, "port must be a whole number"),
        ("[webhooks]\nport = nan\n", {}, "port must be a whole number"),
        ("[webhooks]\nport = true\n", {}, "port must be a whole number"),
        ("", {"SWITCHBOARD_WEBHOOKS_PORT": "1e999"}, "port must be a whole number"),
        ("", {"SWITCHBOARD_WEBHOOKS_PORT": "-1"}, "port must be between 0 and 65535"),
        ("[webhooks]\nmax_body_bytes = 99999999999999\n", {}, "max_body_bytes must be between"),
        ("[webhooks]\nsignature_window_seconds = 0\n", {}, "signature_window_seconds must be"),
        (
            '[smtp]\nhost = "m"\nsender = "a@b"\ntimeout_seconds = nan\n',
            {},
            "timeout_seconds must be a number",
        ),
        (
            '[smtp]\nhost = "m"\nsender = "a@b"\ntimeout_seconds = -inf\n',
            {},
            "timeout_seconds must be a number",
        ),
        (
            '[smtp]\nhost = "m"\nsender = "a@b"\ntimeout_seconds = 0\n',
            {},
            "timeout_seconds must be between 0.1 and 600 seconds",
        ),
        ('[smtp]\nhost = "m\\r\\nRCPT TO:<x>"\nsender = "a@b"\n', {}, "control characters"),
        ("", {"SWITCHBOARD_SMTP_HOST": "m\udcff"}, "[smtp] host must be UTF-8 text"),
        ('[webhooks]\npublic_url = "https://x/\\u001b]0;t\\u0007"\n', {}, "control characters"),
        ('[smtp]\nhost = "m"\nsecurity = "ssl"\nsender = "a@b"\n', {}, "security must be one of"),
        ('[smtp]\nhost = "m"\n', {}, "sender"),
        ('[smtp]\nhost = "m"\nsender = "a@b"\nusername = "u"\n', {}, "password"),
        ("[sinch\n", {}, "cannot be read as TOML"),
    ],
)
def test_a_configuration_that_cannot_work_is_refused_with_the_reason(
    tmp_path: Path, text: str, env: dict[str, str], says: str
):
    path = write(tmp_path / "config.toml", text)
    with pytest.raises(ConfigProblem) as refused:
        load(path, env=env)
    assert says in str(refused.value)


def test_a_secret_file_everyone_can_read_is_refused(tmp_path: Path):
    token = secret_file(tmp_path, "token", "t", mode=0o644)
    path = write(
        tmp_path / "config.toml",
        f'[sinch]\nservice_plan_id = "p"\napi_token_file = "{token}"\n',
    )
    with pytest.raises(ConfigProblem, match="can be read by every user"):
        load(path, env={})
    os.chmod(token, 0o640)  # the group may read it: a service account's group
    assert load(path, env={}).sinch.api_token == "t"  # type: ignore[union-attr]


def test_a_secret_file_that_is_not_text_or_not_a_file_is_refused(tmp_path: Path):
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfetoken")
    os.chmod(binary, 0o600)
    two_lines = secret_file(tmp_path, "two-lines", "tok\nen")
    for file, says in (
        (binary, "is not UTF-8 text"),
        (two_lines, "control characters"),
        (tmp_path, "is not a regular file"),
    ):
        path = write(
            tmp_path / "config.toml", f'[sinch]\nservice_plan_id = "p"\napi_token_file = "{file}"\n'
        )
        with pytest.raises(ConfigProblem, match=says):
            load(path, env={})


def test_a_missing_or_empty_secret_file_is_named(tmp_path: Path):
    path = write(
        tmp_path / "config.toml",
        f'[sinch]\nservice_plan_id = "p"\napi_token_file = "{tmp_path / "nope"}"\n',
    )
    with pytest.raises(ConfigProblem, match="cannot read"):
        load(path, env={})
    empty = secret_file(tmp_path, "empty", "")
    path = write(
        tmp_path / "config.toml", f'[sinch]\nservice_plan_id = "p"\napi_token_file = "{empty}"\n'
    )
    with pytest.raises(ConfigProblem, match="is empty"):
        load(path, env={})
