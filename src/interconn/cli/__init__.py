"""The operator's command line (Typer + rich)."""
