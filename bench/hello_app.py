"""A bare Starlette hello-world, served like the node serves its APIs.

The node runs ``uvicorn.Config(app, host, port, log_level="warning", access_log=False,
lifespan="off")`` in one process (``src/interconn/server.py``); this app is served with exactly
those settings, so the only difference to the node is the work done per request.

Run: ``python bench/hello_app.py --port 8700``.
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

HELLO_PATH = "/hello"


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"code": 0, "msg": "success", "data": {"hello": "world"}})


app = Starlette(routes=[Route(HELLO_PATH, hello, methods=["GET"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    # The node runs its servers with asyncio.run(server.serve()) (plain asyncio loop, even if
    # uvloop were installed); do the same.
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
