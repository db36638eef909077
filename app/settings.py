"""Settings from the environment (and an optional `.env`), one documented table in the README."""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development-only secrets: usable out of the box, refused in production.
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789abcdef"
DEV_DATA_KEY = base64.urlsafe_b64encode(b"dev-only-data-key-change-me!!!!!").decode()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset means an embedded server in DATA_DIR."
    )
    data_dir: Path = Path(".data")
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_pool_recycle_seconds: int = Field(default=1800, ge=60)
    db_lock_timeout_ms: int = Field(default=3000, ge=100)
    db_statement_timeout_ms: int = Field(default=15000, ge=100)

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86400)
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    refresh_reuse_grace_seconds: int = Field(default=10, ge=0, le=300)
    data_encryption_key: SecretStr = Field(
        default=SecretStr(DEV_DATA_KEY),
        description="32 bytes, url-safe base64: encrypts ID numbers at rest.",
    )

    otp_ttl_seconds: int = Field(default=300, ge=60)
    otp_max_attempts: int = Field(default=5, ge=1)
    otp_lockout_seconds: int = Field(default=900, ge=60)
    otp_resend_interval_seconds: int = Field(default=60, ge=0)
    otp_max_per_hour: int = Field(default=5, ge=1)
    sms_sender: Literal["log", "aliyun", "off"] = "log"
    # Alibaba Cloud SMS (dysmsapi SendSms): an approved sign name and a login-code
    # template whose variable is ${code}.
    aliyun_sms_access_key_id: str = ""
    aliyun_sms_access_key_secret: SecretStr = SecretStr("")
    aliyun_sms_sign_name: str = ""
    aliyun_sms_template_code: str = ""
    aliyun_sms_endpoint: str = "https://dysmsapi.aliyuncs.com"
    sms_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    wechat_app_id: str = ""
    wechat_app_secret: SecretStr = SecretStr("")
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_timeout_seconds: float = 5.0

    graphql_max_depth: int = Field(default=12, ge=2)
    graphql_max_aliases: int = Field(default=15, ge=0)
    graphql_max_tokens: int = Field(default=2000, ge=50)

    request_auto_close_days: int = Field(default=7, ge=1, le=90)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @field_validator("data_encryption_key")
    @classmethod
    def _key_is_32_bytes(cls, value: SecretStr) -> SecretStr:
        try:
            raw = base64.urlsafe_b64decode(value.get_secret_value())
        except ValueError as exc:
            raise ValueError("DATA_ENCRYPTION_KEY must be url-safe base64") from exc
        if len(raw) != 32:
            raise ValueError("DATA_ENCRYPTION_KEY must decode to exactly 32 bytes")
        return value

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.production:
            if self.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
                raise ValueError("JWT_SECRET must be set in production")
            if self.data_encryption_key.get_secret_value() == DEV_DATA_KEY:
                raise ValueError("DATA_ENCRYPTION_KEY must be set in production")
            if not self.database_url:
                raise ValueError("DATABASE_URL must be set in production")
            if self.sms_sender == "log":  # whoever reads the log could log in as anyone
                raise ValueError("SMS_SENDER=log writes login codes to the log: "
                                 "in production set SMS_SENDER=aliyun, or off")
        if self.sms_sender == "aliyun":
            required = {
                "ALIYUN_SMS_ACCESS_KEY_ID": self.aliyun_sms_access_key_id,
                "ALIYUN_SMS_ACCESS_KEY_SECRET": self.aliyun_sms_access_key_secret.get_secret_value(),
                "ALIYUN_SMS_SIGN_NAME": self.aliyun_sms_sign_name,
                "ALIYUN_SMS_TEMPLATE_CODE": self.aliyun_sms_template_code,
            }
            missing = [name for name, value in required.items() if not value]
            if missing:
                raise ValueError(f"SMS_SENDER=aliyun needs {', '.join(missing)}")
        return self

    @property
    def data_key_bytes(self) -> bytes:
        return base64.urlsafe_b64decode(self.data_encryption_key.get_secret_value())


@lru_cache
def get_settings() -> Settings:
    return Settings()
