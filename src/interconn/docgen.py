"""Generates the reference parts of docs/ from the code, so they cannot drift.

``python -m interconn.docgen`` rewrites docs/errors.md, docs/config.md and
docs/lifecycle.md; a test fails when a committed file differs from what this produces.
"""

from __future__ import annotations

import sys
from pathlib import Path

from interconn.config import config_markdown
from interconn.errors import CODES
from interconn.protocol.lifecycle import TABLE, mermaid


def errors_md() -> str:
    rows = [
        "# Error codes",
        "",
        'Every response is the envelope `{"code", "msg", "data"}`; `code` 0 is success.',
        "4xx means the caller must change something (do not retry as is);",
        "5xx means retry later. Codes 10xxx are protocol errors of the calling partner,",
        "20xxx operator (admin API) errors, 30xxx failures of a partner this node called,",
        "50xxx this node's own failures. `msg` is a human sentence saying what to fix;",
        '`data` may carry details (e.g. `{"errors": [{"field", "error"}]}` for validation,',
        '`{"status"}` for state conflicts).',
        "",
        "| code | name | HTTP | meaning |",
        "| --- | --- | --- | --- |",
    ]
    rows += [f"| {c.code} | `{c.name}` | {c.http_status} | {c.meaning} |" for c in CODES.values()]
    return "\n".join(rows) + "\n"


def config_md() -> str:
    return (
        "# Configuration\n\n"
        "Settings are read, later winning, from: built-in defaults, `<data_dir>/node.toml`, "
        "`INTERCONN_*` environment variables, command-line options. `data_dir` itself comes "
        "from `--data-dir` or `INTERCONN_DATA_DIR` (default `./interconn-data`). "
        "`interconn init` writes the settings it was given (by option or environment "
        "variable) into `node.toml`, so the node keeps them on later starts.\n\n"
        + config_markdown()
    )


def lifecycle_md() -> str:
    rows = [
        "# The approval lifecycle",
        "",
        "One table (`src/interconn/protocol/lifecycle.py`) drives every approval kind: node",
        "contract, dataset authorization, project, flow, job and model. A move is looked up by",
        "(role of this node, origin of the event, current state, event). `LOCAL` events are",
        "decisions taken on this node and are announced to the peer through the outbox;",
        "`REMOTE` events are announcements received from the peer (apply, confirm callback,",
        "query answer, terminate). Anything not listed is refused with `STATE_CONFLICT`",
        "(10401): a confirm that contradicts the stored state is an error, never an overwrite.",
        "`REJECTED` and `TERMINATED` are final.",
        "",
        "```mermaid",
        mermaid(),
        "```",
        "",
        "## Full table (including idempotent repeats)",
        "",
        "| role | origin | state | event | new state | changes | tells the peer |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (role, origin, state, event), move in sorted(
        TABLE.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2]), kv[0][3])
    ):
        rows.append(
            f"| {role} | {origin} | {state or '(new)'} | {event} | {move.new_state} | "
            f"{'yes' if move.changed else 'no (repeat)'} | {move.notify or '-'} |"
        )
    return "\n".join(rows) + "\n"


GENERATED = {"errors.md": errors_md, "config.md": config_md, "lifecycle.md": lifecycle_md}


def main(root: Path) -> None:
    for name, make in GENERATED.items():
        (root / name).write_text(make(), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs"))
