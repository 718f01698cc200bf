"""The peer: a procrastinate app with a task that does nothing, like a no-op edit."""

import os

import procrastinate

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(conninfo=os.environ.get("PROCRASTINATE_DSN", ""))
)


@app.task(name="noop")
async def noop() -> None:
    return None
