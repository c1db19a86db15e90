"""``ModelConfig``: which LLM backend to use and how to call it, read from YAML/TOML or CLI flags.

The API key itself is never part of the config: ``api_key_env`` names the environment variable
that holds it, and the client reads it at construction time.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from automem_core.llm.base import LLMConfigError

Backend = Literal["embedded", "openai", "replay"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_WORDS = frozenset(
    {"key", "apikey", "secret", "token", "password", "passwd", "authorization", "credential"}
)
_PUBLIC_KEYS = frozenset({"api_key_env"})


PRICE_FIELDS = ("price_in_per_1m", "price_out_per_1m")


class ModelConfig(BaseModel):
    """How to reach the LLM. Unknown fields are rejected so a typo names itself."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    backend: Backend = "embedded"
    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int = Field(default=512, ge=1)
    timeout_s: float = Field(default=60.0, gt=0.0)
    max_retries: int = Field(default=4, ge=0)
    backoff_base_s: float = Field(default=0.5, ge=0.0)
    backoff_max_s: float = Field(default=20.0, ge=0.0)
    extra_body: dict[str, Any] = Field(default_factory=dict)
    # What the endpoint charges, in US dollars per million tokens (for the cost columns; they
    # never change what is played).
    price_in_per_1m: float = Field(default=0.0, ge=0.0)
    price_out_per_1m: float = Field(default=0.0, ge=0.0)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. http://localhost:8000/v1")
        parts = urlsplit(value)
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError(
                "must not carry credentials or a query string (it is logged); "
                "put the key in the variable named by api_key_env"
            )
        return value.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _check_api_key_env(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(
                "must be the NAME of an environment variable (e.g. OPENAI_API_KEY), "
                "not the key itself"
            )
        return value

    @model_validator(mode="after")
    def _base_url_implies_openai(self) -> ModelConfig:
        if self.base_url is not None and "backend" not in self.model_fields_set:
            self.backend = "openai"
        return self

    def identity_dict(self) -> dict[str, Any]:
        """The public settings that decide what is played (prices left out)."""
        found = self.public_dict()
        for name in PRICE_FIELDS:
            found.pop(name, None)
        return found

    def public_dict(self) -> dict[str, Any]:
        """The settings as plain data for logs and run metadata, with anything secret-looking
        dropped (also inside ``extra_body``)."""
        public: dict[str, Any] = _drop_secrets(self.model_dump(mode="json"))
        return public


def _is_secret_name(name: str) -> bool:
    if name in _PUBLIC_KEYS:
        return False
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    words = {w for w in re.split(r"[^a-z0-9]+", snake) if w}
    return bool(words & _SECRET_WORDS) or "apikey" in snake.replace("_", "")


def _drop_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _drop_secrets(v)
            for k, v in value.items()
            if not (isinstance(k, str) and _is_secret_name(k))
        }
    if isinstance(value, list):
        return [_drop_secrets(v) for v in value]
    return value


def load_model_config(path: Path) -> ModelConfig:
    """Read a ``ModelConfig`` from a ``.yaml``/``.yml`` or ``.toml`` file.

    Raises ``LLMConfigError`` with a one-line message naming the file, the bad field and the fix.
    """
    path = Path(path)
    data = _read_mapping(path)
    return parse_model_config(data, source=str(path))


def parse_model_config(data: dict[str, Any], *, source: str = "model config") -> ModelConfig:
    """Validate already-parsed settings (e.g. a config file merged with CLI flags)."""
    try:
        return ModelConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors())
        raise LLMConfigError(f"{source}: {problems}") from None


def _read_mapping(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix not in {".yaml", ".yml", ".toml"}:
        raise LLMConfigError(
            f"{path}: unsupported config format {suffix or '(no suffix)'!r}; "
            "use a .yaml, .yml or .toml file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LLMConfigError(
            f"{path}: cannot read the config file ({exc.strerror or type(exc).__name__}); "
            "check the path"
        ) from None
    try:
        data = tomllib.loads(text) if suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())
        raise LLMConfigError(
            f"{path}: not valid {suffix[1:].upper()} ({detail}); fix the syntax"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LLMConfigError(
            f"{path}: expected a mapping of settings at the top level, got "
            f"{type(data).__name__}; write `field: value` lines"
        )
    return data


def _describe(err: Any) -> str:
    loc = ".".join(str(part) for part in err.get("loc", ())) or "(top level)"
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        field = str(err["loc"][0]) if err.get("loc") else loc
        close = difflib.get_close_matches(field, list(ModelConfig.model_fields), n=1)
        hint = f"did you mean `{close[0]}`?" if close else "remove it"
        valid = ", ".join(ModelConfig.model_fields)
        return f"unknown field `{loc}`; {hint} (valid fields: {valid})"
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"field `{loc}`: {msg}; fix the value"
