"""Provider configuration: a TOML file, the environment, and secret files.

The file is ``config.toml`` in the XDG config directory (or $SWITCHBOARD_CONFIG).
Every key can also be given as ``SWITCHBOARD_<SECTION>_<KEY>`` in the
environment, which wins over the file (``SWITCHBOARD_SINCH_REGION=eu``).

Secrets never sit in the file, which is often copied around and checked in:
each comes from its environment variable or from ``<name>_file``, a file only
its owner (and group) may read. With nothing configured, Switchboard runs on
the sandbox provider and sends no email.
"""

from __future__ import annotations

import math
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeGuard, get_args

import platformdirs

from core.errors import ConfigProblem
from core.paths import APP
from core.text import has_control_characters, is_utf8

CONFIG_ENV = "SWITCHBOARD_CONFIG"
ENV_PREFIX = "SWITCHBOARD_"
SINCH_REGIONS = ("us", "eu", "au", "br", "ca")
SMTP_SECURITY = ("starttls", "tls", "none")
EVENTS_PATH = "/sinch/events"
# Bounds that keep a typo from becoming an outage: a provider call that may
# hang for a day, a callback body that fills memory, a replay window of years.
MAX_TIMEOUT = 600.0
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_SIGNATURE_WINDOW = 86_400
MAX_SECRET_BYTES = 64 * 1024


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "config.toml"


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    override = env.get(CONFIG_ENV)
    return Path(override).expanduser() if override else default_config_path()


@dataclass(frozen=True, slots=True)
class SinchConfig:
    service_plan_id: str = ""
    api_token: str = field(default="", repr=False)
    region: str = "us"
    project_id: str = ""
    key_id: str = ""
    key_secret: str = field(default="", repr=False)
    webhook_secret: str = field(default="", repr=False)
    """Signs callbacks; when set, an unsigned or badly signed callback is refused."""
    origin: str = ""
    """Where the SMS API is, when not Sinch's own (tests point it at a fake server)."""
    auth_origin: str = ""
    """Where OAuth tokens come from (project access keys), when not Sinch's own."""
    timeout_seconds: float = 10.0

    @property
    def uses_service_plan(self) -> bool:
        return bool(self.service_plan_id)


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    host: str = "127.0.0.1"
    port: int = 8780
    public_url: str = ""
    """How the provider reaches this server from outside (callbacks, MMS files)."""
    max_body_bytes: int = 1_048_576
    signature_window_seconds: int = 300
    """A signed callback older or newer than this is refused as a possible replay."""

    @property
    def callback_url(self) -> str | None:
        return self.public_url.rstrip("/") + EVENTS_PATH if self.public_url else None


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str = ""
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    """The From address, e.g. ``Switchboard <switchboard@example.org>``."""
    ca_file: str = ""
    """Certificates to trust besides the system's, for a server with a private CA."""
    timeout_seconds: float = 10.0


SmsProvider = Literal["sandbox", "sinch"]


def _is_sms_provider(name: object) -> TypeGuard[SmsProvider]:
    return name in get_args(SmsProvider)


@dataclass(frozen=True, slots=True)
class Config:
    sms_provider: SmsProvider = "sandbox"
    sinch: SinchConfig | None = None
    smtp: SmtpConfig | None = None
    webhooks: WebhookConfig = WebhookConfig()
    path: Path | None = None
    """The file this came from, when there was one."""


SECRETS = {
    "sinch": ("api_token", "key_secret", "webhook_secret"),
    "smtp": ("password",),
}
SECTIONS: dict[str, type] = {"sinch": SinchConfig, "webhooks": WebhookConfig, "smtp": SmtpConfig}


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the configuration; raises ConfigProblem naming what is wrong and where."""
    env = os.environ if env is None else env
    path = path or config_path(env)
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigProblem(f"{path}: cannot be read as TOML: {exc}") from None
    where = str(path) if path.exists() else "the environment"
    unknown = sorted(set(raw) - {"sms", *SECTIONS})
    if unknown:
        raise ConfigProblem(
            f"{where}: unknown section [{unknown[0]}]; known: [sms], "
            + ", ".join(f"[{name}]" for name in SECTIONS)
        )
    sections = {name: _section(name, raw.get(name, {}), env, where) for name in SECTIONS}

    sms = {**_table("sms", raw.get("sms", {}), where), **_env_for("sms", ("provider",), env)}
    unknown = sorted(set(sms) - {"provider"})
    if unknown:
        raise ConfigProblem(f"{where}: unknown key {unknown[0]!r} in [sms]; known: 'provider'")
    provider = sms.get("provider") or ("sinch" if sections["sinch"] else "sandbox")
    if not _is_sms_provider(provider):
        raise ConfigProblem(f"[sms] provider must be 'sandbox' or 'sinch', not {provider!r}")

    sinch = SinchConfig(**sections["sinch"]) if sections["sinch"] else None
    if provider == "sinch":
        sinch = _checked_sinch(sinch or SinchConfig())
    smtp = _checked_smtp(SmtpConfig(**sections["smtp"])) if sections["smtp"] else None
    webhooks = _checked_webhooks(WebhookConfig(**sections["webhooks"]))
    return Config(
        provider,
        sinch,
        smtp,
        webhooks,
        path if path.exists() else None,
    )


def _table(name: str, value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigProblem(f"{where}: [{name}] must be a table of keys")
    return dict(value)


def _env_for(section: str, keys: tuple[str, ...], env: Mapping[str, str]) -> dict[str, str]:
    found = {}
    for key in keys:
        value = env.get(f"{ENV_PREFIX}{section.upper()}_{key.upper()}")
        if value is not None and value != "":
            found[key] = value
    return found


def _section(name: str, value: Any, env: Mapping[str, str], where: str) -> dict[str, Any]:
    """One section's values: the file's, overridden by the environment, secrets resolved."""
    table = _table(name, value, where)
    cls = SECTIONS[name]
    known = [f.name for f in fields(cls)]
    secrets = SECRETS.get(name, ())
    file_keys = {f"{s}_file" for s in secrets}
    for key in table:
        if key in secrets:
            raise ConfigProblem(
                f"{where}: [{name}] {key} is a secret and does not belong in the file; set"
                f" {ENV_PREFIX}{name.upper()}_{key.upper()} or {key}_file, a file only you read"
            )
        if key not in known and key not in file_keys:
            raise ConfigProblem(
                f"{where}: unknown key {key!r} in [{name}]; known: "
                + ", ".join(sorted(k for k in known if k not in secrets) + sorted(file_keys))
            )
    merged: dict[str, Any] = {k: v for k, v in table.items() if k not in file_keys}
    merged.update(_env_for(name, tuple(k for k in known if k not in secrets), env))
    for secret in secrets:
        from_env = _env_for(name, (secret,), env).get(secret)
        file_name = _env_for(name, (f"{secret}_file",), env).get(f"{secret}_file") or table.get(
            f"{secret}_file"
        )
        if from_env is not None:
            merged[secret] = from_env
        elif file_name:
            merged[secret] = read_secret_file(
                Path(str(file_name)).expanduser(), f"[{name}] {secret}"
            )
    return {k: _typed(cls, name, k, v) for k, v in merged.items()}


def _typed(cls: type, section: str, key: str, value: Any) -> Any:
    """``value`` as the kind ``key`` holds, or ConfigProblem naming the key and the kind.

    Values come from a file anyone may have edited and from the environment,
    where bytes that are not UTF-8 arrive as lone surrogates: both are
    untrusted, so numbers must be finite and whole where whole, and text must
    be UTF-8 without control characters (a newline in a host or a token
    would end up in a request line or a header).
    """
    default = getattr(cls(), key)
    kind = {int: "a whole number", float: "a number"}.get(type(default), "text")
    try:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(default, int):
            number = float(value) if isinstance(value, float) else int(value)
            if number != int(number):  # 8780.5, nan, inf
                raise ValueError
            return int(number)
        if isinstance(default, float):
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
            return number
        if not isinstance(value, str):
            raise TypeError
        return checked_text(value.strip(), f"[{section}] {key}")
    except (TypeError, ValueError, OverflowError):
        raise ConfigProblem(f"[{section}] {key} must be {kind}, not {value!r}") from None


def checked_text(value: str, what: str) -> str:
    """``value`` if it is UTF-8 text without control characters; else ConfigProblem."""
    if not is_utf8(value):
        raise ConfigProblem(f"{what} must be UTF-8 text")
    if has_control_characters(value):
        raise ConfigProblem(f"{what} must not hold control characters (a line break, a tab, ESC…)")
    return value


def _within(what: str, value: float, least: float, most: float, unit: str = "") -> None:
    if not least <= value <= most:
        raise ConfigProblem(f"{what} must be between {least:g} and {most:g}{unit}, not {value:g}")


def read_secret_file(path: Path, what: str) -> str:
    """A secret from a file that other users of the machine cannot read."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise ConfigProblem(f"{what}: {path} is not a regular file")
        if path.stat().st_size > MAX_SECRET_BYTES:
            raise ConfigProblem(f"{what}: {path} is over {MAX_SECRET_BYTES} bytes; not a secret")
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigProblem(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigProblem(f"{what}: {path} is not UTF-8 text") from None
    checked_text(text, f"{what} (in {path})")
    if mode & stat.S_IROTH:
        raise ConfigProblem(
            f"{what}: {path} can be read by every user on this machine; "
            f"run `chmod o-r {path}` (or chmod 600) and start again"
        )
    if not text:
        raise ConfigProblem(f"{what}: {path} is empty")
    return text


def _checked_sinch(config: SinchConfig) -> SinchConfig:
    if config.region not in SINCH_REGIONS:
        raise ConfigProblem(
            f"[sinch] region must be one of {', '.join(SINCH_REGIONS)}, not {config.region!r}"
        )
    if config.service_plan_id:
        if not config.api_token:
            raise ConfigProblem(
                "[sinch] service_plan_id is set but not its API token: set"
                " SWITCHBOARD_SINCH_API_TOKEN or api_token_file"
            )
    elif config.project_id or config.key_id:
        missing = [
            name
            for name, value in (
                ("project_id", config.project_id),
                ("key_id", config.key_id),
                ("key_secret (SWITCHBOARD_SINCH_KEY_SECRET or key_secret_file)", config.key_secret),
            )
            if not value
        ]
        if missing:
            raise ConfigProblem(f"[sinch] project access keys need {', '.join(missing)}")
    else:
        raise ConfigProblem(
            "[sinch] needs either service_plan_id with an API token, or project_id, key_id"
            " and key_secret (project access keys)"
        )
    _within("[sinch] timeout_seconds", config.timeout_seconds, 0.1, MAX_TIMEOUT, " seconds")
    for name in ("origin", "auth_origin"):
        value = getattr(config, name)
        if value and not value.startswith(("http://", "https://")):
            raise ConfigProblem(f"[sinch] {name} must be an http(s) URL, not {value!r}")
    return config


def _checked_smtp(config: SmtpConfig) -> SmtpConfig:
    if not config.host:
        raise ConfigProblem("[smtp] host is required")
    if config.security not in SMTP_SECURITY:
        raise ConfigProblem(
            f"[smtp] security must be one of {', '.join(SMTP_SECURITY)}, not {config.security!r}"
        )
    _within("[smtp] port", config.port, 1, 65535)
    if not config.sender:
        raise ConfigProblem("[smtp] sender (the From address) is required")
    if config.username and not config.password:
        raise ConfigProblem(
            "[smtp] username is set but not its password: set SWITCHBOARD_SMTP_PASSWORD"
            " or password_file"
        )
    _within("[smtp] timeout_seconds", config.timeout_seconds, 0.1, MAX_TIMEOUT, " seconds")
    return config


def _checked_webhooks(config: WebhookConfig) -> WebhookConfig:
    _within("[webhooks] port", config.port, 0, 65535)
    _within("[webhooks] max_body_bytes", config.max_body_bytes, 1024, MAX_BODY_BYTES, " bytes")
    _within(
        "[webhooks] signature_window_seconds",
        config.signature_window_seconds,
        1,
        MAX_SIGNATURE_WINDOW,
        " seconds",
    )
    if config.public_url and not config.public_url.startswith(("http://", "https://")):
        raise ConfigProblem(
            f"[webhooks] public_url must be an http(s) URL, not {config.public_url!r}"
        )
    return config
