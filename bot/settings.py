"""Settings from the environment and `.env` (pydantic-settings).

The names are part of the public interface (README, `.env.example`); do not rename them.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
# The token `.env.example` ships with: well-formed, so only its words give it away.
_EXAMPLE_PLACEHOLDER = "replace-with-your-token"
_SEND_HOURS_RE = re.compile(r"^\s*(\d{1,2})\s*-\s*(\d{1,2})\s*$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # --- Telegram -------------------------------------------------------------------------
    bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None

    # --- Where and when ---------------------------------------------------------------------
    database_path: Path = Path("data/bot.sqlite3")
    timezone: str = "Europe/Moscow"
    default_language: str = "ru"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)

    # --- People -----------------------------------------------------------------------------
    # ADMIN_IDS as read at start, never changed: every admin now, those added in the bot too, is
    # bot.admins.service's (the Roster, or current_admins in a transaction).
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()

    # --- Survey -----------------------------------------------------------------------------
    survey_min_group: int = Field(default=3, ge=1)
    survey_reminder_days: float = Field(default=3, gt=0)
    pseudonym_secret: SecretStr | None = None

    # --- Scheduler and sender ---------------------------------------------------------------
    scheduler_tick_seconds: float = Field(default=30, gt=0)
    send_hours: str = "9-21"
    send_rate: float = Field(default=25, gt=0, le=1000)

    # --- Customers --------------------------------------------------------------------------
    api_token: SecretStr | None = None
    review_delay_days: float = Field(default=7, ge=0)
    review_min_interval_days: float = Field(default=7, ge=0)
    review_reminder_days: float = Field(default=3, gt=0)
    restock_lead_days: float = Field(default=3, ge=0)
    link_wait_days: float = Field(default=30, gt=0)
    negative_rating_max: int = Field(default=2, ge=1, le=5)
    review_bonus_text: str | None = None

    # --- Reports ----------------------------------------------------------------------------
    report_cron: str = "0 10 * * mon"

    # --- Dashboard (issue 13) ---------------------------------------------------------------
    # Where admins open /dashboard, e.g. https://shop.example/dashboard (behind a TLS proxy).
    # Unset: the link names this machine's HTTP_HOST and port. https: the admins' menu button
    # opens it as a Telegram Mini App too, and the session cookie is Secure.
    dashboard_url: str | None = None

    @field_validator("dashboard_url")
    @classmethod
    def _check_dashboard_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")) or not value.endswith("/dashboard"):
            raise ValueError(
                "expected the address of /dashboard, e.g. https://shop.example/dashboard"
            )
        return value

    # --- Disclosure control (issue 9, bot/disclosure) ----------------------------------------
    # The smallest group whose comments may be shown (a comments feature calls
    # bot.disclosure.may_show_comments / comment_structure with it); SURVEY_MIN_GROUP covers scores.
    survey_comment_min_group: int = Field(default=5, ge=1)

    # --- Plans, the voice of the customer (issue 12) ----------------------------------------
    # The owners' monthly check-in (1st of the month, 10:00); empty disables it.
    plan_checkin_cron: str = "0 10 1 * *"
    # The voice of the customer to every employee: the first Monday of the month, 10:00 (day
    # and weekday both hold, as APScheduler reads a crontab); empty disables it.
    voc_cron: str = "0 10 1-7 * mon"

    # --- Shop data (issue 14): webhooks in, win-back, events out ----------------------------
    shopify_webhook_secret: SecretStr | None = None
    woocommerce_webhook_secret: SecretStr | None = None
    retailcrm_webhook_token: SecretStr | None = None
    winback_days: int | None = Field(default=None, ge=1, le=3650)  # empty: no win-back messages
    winback_text: str | None = None
    webhook_out_url: str | None = None
    webhook_out_secret: SecretStr | None = None

    @field_validator("winback_days", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_out_url")
    @classmethod
    def _check_out_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.strip()

    # --- The customer loop: cases, names, effort (issue 11, bot/cases/) ----------------------
    shop_name: str = Field(default="", max_length=64)  # named in every customer message
    company_name: str = Field(default="", max_length=64)  # for employees; else SHOP_NAME
    support_hours: str = Field(default="", max_length=100)  # e.g. «пн–пт 9:00–18:00»
    alert_response_hours: float = Field(default=24, gt=0, le=24 * 30)
    review_ask_effort: bool = True  # the CES question after NPS
    # --- The web server against slow clients (issue 10: robustness) ------------------------
    # A request's head must arrive within HTTP_HEADER_TIMEOUT seconds and its body within
    # HTTP_BODY_TIMEOUT; at most HTTP_MAX_CONNECTIONS are open at once (more are refused).
    http_header_timeout: float = Field(default=10, gt=0, le=3600)
    http_body_timeout: float = Field(default=30, gt=0, le=3600)
    http_max_connections: int = Field(default=200, ge=1, le=100_000)

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN_RE.match(value.get_secret_value().strip()):
            # Never echo the value: it is a secret.
            raise ValueError("expected the form 123456:ABC-token from @BotFather")
        if _EXAMPLE_PLACEHOLDER in value.get_secret_value():
            raise ValueError(
                "this is the placeholder from .env.example; put the token from @BotFather there"
            )
        return SecretStr(value.get_secret_value().strip())

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.isdigit() for p in parts):
                raise ValueError("expected comma-separated Telegram ids, e.g. 111,222")
            return frozenset(int(p) for p in parts)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone, expected e.g. Europe/Moscow") from exc
        return value

    @field_validator("default_language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        if value not in ("ru", "en"):
            raise ValueError("expected ru or en")
        return value

    @field_validator("telegram_api_url", "webhook_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("send_hours")
    @classmethod
    def _check_send_hours(cls, value: str) -> str:
        match = _SEND_HOURS_RE.match(value)
        if not match:
            raise ValueError("expected START-END hours, e.g. 9-21 (0-24 means any time)")
        start, end = int(match.group(1)), int(match.group(2))
        if not (0 <= start < end <= 24):
            raise ValueError("expected 0 <= START < END <= 24, e.g. 9-21")
        return f"{start}-{end}"

    @field_validator("report_cron", "plan_checkin_cron", "voc_cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        value = value.strip()
        if value:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value)
            except ValueError as exc:
                raise ValueError("expected a crontab line, e.g. '0 10 * * mon'") from exc
        return value

    # --- Derived values ---------------------------------------------------------------------
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def send_window(self) -> tuple[int, int]:
        start, end = self.send_hours.split("-")
        return int(start), int(end)

    @property
    def webhook_mode(self) -> bool:
        return bool(self.webhook_url)

    def resolve_pseudonym_secret(self) -> bytes:
        """The HMAC key for respondent pseudonyms.

        Kept outside the database on purpose: with the database alone nobody can tie a
        pseudonym back to a Telegram id.
        """
        if self.pseudonym_secret is not None and self.pseudonym_secret.get_secret_value():
            return self.pseudonym_secret.get_secret_value().encode()
        key_file = self.database_path.parent / (self.database_path.name + ".pseudonym-key")
        if key_file.exists():
            return key_file.read_text(encoding="utf-8").strip().encode()
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        key_file.write_text(key + "\n", encoding="utf-8")
        key_file.chmod(0o600)
        return key.encode()


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one clear line per problem."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "?"
            if error["type"] == "missing":
                problems.append(f"{name} is not set")
            else:
                reason = str(error["msg"]).removeprefix("Value error, ")
                problems.append(f"{name} is invalid: {reason}")
        raise SettingsError("; ".join(problems)) from None
