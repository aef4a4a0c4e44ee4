"""Settings from the environment (PHOIHOP_*). Built in the app's lifespan or the CLI, never at import."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "phoihop-dev-secret-do-not-use-in-production-0123456789"  # noqa: S105  (dev mode only, refused otherwise)

log = logging.getLogger("phoihop")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOIHOP_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "prod"
    database_url: str = "sqlite:///./var/phoihop.db"
    secret_key: SecretStr | None = None
    processes_dir: Path = Path("processes")
    deploy_on_start: bool = True
    run_scheduler: bool = True
    token_ttl_minutes: int = 8 * 60
    max_json_bytes: int = 1_000_000
    max_upload_bytes: int = 10_000_000
    script_cpu_seconds: float = 1.0
    db_pool_size: int = 10

    @model_validator(mode="after")
    def _refuse_unsafe_secret(self) -> Settings:
        if self.secret_key is None or not self.secret_key.get_secret_value():
            if self.env != "dev":
                raise ValueError("PHOIHOP_SECRET_KEY is required unless PHOIHOP_ENV=dev")
            self.secret_key = SecretStr(DEV_SECRET)
        elif self.env != "dev" and self.secret_key.get_secret_value() == DEV_SECRET:
            raise ValueError("the development secret may not be used outside PHOIHOP_ENV=dev")
        elif len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("PHOIHOP_SECRET_KEY must be at least 32 characters")
        return self

    @property
    def secret(self) -> str:
        assert self.secret_key is not None
        return self.secret_key.get_secret_value()

    @property
    def using_dev_secret(self) -> bool:
        return self.secret == DEV_SECRET


@lru_cache
def get_settings() -> Settings:
    return Settings()
