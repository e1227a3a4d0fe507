"""Node configuration: defaults, then ``<data_dir>/node.toml``, then ``INTERCONN_*`` variables.

Every setting is a field of ``Settings`` with its default and a description; ``docs/config.md``
is generated from this class (``interconn config-doc``) and a test keeps the two in step.
"""

from __future__ import annotations

import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from interconn.errors import OperatorError

CONFIG_FILE = "node.toml"
ENV_PREFIX = "INTERCONN_"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(
        Path("interconn-data"), description="Directory holding node.toml, keys and the SQLite file."
    )
    database_url: str = Field(
        "", description="SQLAlchemy URL. Empty: SQLite file interconn.db in data_dir (WAL mode)."
    )
    partner_host: str = Field("0.0.0.0", description="Bind address of the partner-facing API.")
    partner_port: int = Field(8600, description="Port of the partner-facing API.")
    admin_host: str = Field(
        "127.0.0.1", description="Bind address of the operator (admin) API; loopback by default."
    )
    admin_port: int = Field(8601, description="Port of the operator (admin) API.")
    public_address: str = Field(
        "",
        description="URL partners use to reach this node. Empty: http://127.0.0.1:<partner_port>.",
    )
    timestamp_window_s: int = Field(300, description="Accepted clock skew of x-timestamp, seconds.")
    allow_unsigned_exempt: bool = Field(
        False,
        description="Accept node query / contract apply / contract confirm without a signature "
        "(legacy peers). Off by default.",
    )
    public_node_info: bool = Field(
        False, description="Serve node/query to callers without a contract. Off by default."
    )
    contract_days: int = Field(
        365, description="Validity granted to a contract when the applicant names no expiry."
    )
    outbox_poll_s: float = Field(
        1.0, description="How often the delivery worker looks for due messages."
    )
    outbox_base_delay_s: float = Field(
        1.0,
        description="Retry delay base: after failed attempt n the next one waits a random time "
        "between base/2 and base*2^n (at most outbox_max_delay_s).",
    )
    outbox_max_delay_s: float = Field(300.0, description="Upper bound of the retry delay.")
    outbox_max_age_s: float = Field(
        86400.0,
        description="Age after which an undelivered message is flagged to the operator "
        "(delivery keeps being retried until it succeeds or the operator cancels it).",
    )
    request_timeout_s: float = Field(10.0, description="Timeout of one call to a partner.")
    callback_timeout_s: float = Field(
        60.0,
        description="After this long without a confirm callback, "
        "the reconciler queries the partner.",
    )
    reconcile_interval_s: float = Field(15.0, description="How often the reconciler runs.")
    db_workers: int = Field(
        0,
        ge=0,
        description="Threads doing the database work of partner requests. 0: none for "
        "SQLite (the work runs on the event loop: it is short, and SQLite takes one writer "
        "at a time, so threads would only queue on its lock), 8 otherwise.",
    )
    contract_cache_ttl_s: float = Field(
        1.0,
        ge=0,
        description="How long a contract read for authentication may be reused. Changes made "
        "through this process take effect at once; this bounds how late another replica's "
        "changes are seen.",
    )
    log_level: str = Field("INFO", description="Log level (DEBUG, INFO, WARNING, ERROR).")

    # Cached: these are read on the hot path, and Path.resolve() touches the file system.
    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'interconn.db').resolve()}"

    @property
    def effective_db_workers(self) -> int:
        return self.db_workers or 8

    @cached_property
    def inline_db_work(self) -> bool:
        return self.db_workers == 0 and self.effective_database_url.startswith("sqlite")

    @property
    def effective_public_address(self) -> str:
        return self.public_address or f"http://127.0.0.1:{self.partner_port}"

    @property
    def config_path(self) -> Path:
        return self.data_dir / CONFIG_FILE


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in Settings.model_fields:
        key = ENV_PREFIX + name.upper()
        if key in environ:
            out[name] = environ[key]
    return out


def load_settings(
    data_dir: Path | str | None = None,
    *,
    environ: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build settings from defaults, node.toml, the environment and explicit overrides."""
    env = dict(os.environ if environ is None else environ)
    base_dir = Path(data_dir or env.get(ENV_PREFIX + "DATA_DIR") or Settings().data_dir)
    values: dict[str, Any] = {}
    path = base_dir / CONFIG_FILE
    if path.exists():
        try:
            values.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise OperatorError(f"{path}: invalid TOML: {exc}") from exc
    values.update(_env_overrides(env))
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["data_dir"] = base_dir
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise OperatorError(f"invalid configuration: {problems}") from exc


def write_config(settings: Settings, keys: dict[str, Any]) -> None:
    """Write the given settings to node.toml (only simple scalar values)."""
    lines = []
    for name, value in keys.items():
        if name not in Settings.model_fields:
            raise OperatorError(f"unknown setting {name}")
        if isinstance(value, bool):
            lines.append(f"{name} = {'true' if value else 'false'}")
        elif isinstance(value, int | float):
            lines.append(f"{name} = {value}")
        else:
            escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{name} = "{escaped}"')
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def config_markdown() -> str:
    rows = ["| setting | environment variable | default | meaning |", "| --- | --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default
        rows.append(
            f"| `{name}` | `{ENV_PREFIX}{name.upper()}` | `{default}` | {field.description} |"
        )
    return "\n".join(rows) + "\n"
