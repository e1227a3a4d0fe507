"""Shared CLI pieces: the data-dir option, the admin client, rich output."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from interconn.cli.admin_client import AdminClient
from interconn.config import Settings, load_settings

console = Console()

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", "-d", help="Node data directory (env INTERCONN_DATA_DIR)."),
]


def settings(data_dir: Path | None) -> Settings:
    return load_settings(data_dir)


def client(data_dir: Path | None) -> AdminClient:
    return AdminClient.for_settings(settings(data_dir))


def table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    out = Table(title=title)
    for col in columns:
        out.add_column(col)
    for row in rows:
        out.add_row(*["" if row.get(c) is None else str(row.get(c)) for c in columns])
    console.print(out)


def kv(title: str, data: dict[str, Any]) -> None:
    out = Table(title=title, show_header=False)
    out.add_column("field", style="bold")
    out.add_column("value", overflow="fold")
    for key, value in data.items():
        if key == "auth_credential" and value:
            lines = str(value).splitlines()
            value = (lines[1][:40] + "...") if len(lines) > 1 else value
        out.add_row(key, "" if value is None else str(value))
    console.print(out)
