"""Print the normalised schema a fresh database gets from the migrations.

`make schema` writes it to db/schema.expected; test_migrations compares against that file.
"""

import tempfile
from pathlib import Path

import psycopg

from service.kernel import migrations
from service.kernel.embedded import embedded_postgres, ensure_database
from service.kernel.schema_snapshot import snapshot


def fresh_snapshot() -> str:
    with (
        tempfile.TemporaryDirectory() as data_dir,
        embedded_postgres(Path(data_dir), cleanup="delete") as server_url,
    ):
        url = ensure_database(server_url)
        migrations.upgrade(url)
        with psycopg.connect(url) as conn:
            return snapshot(conn)


if __name__ == "__main__":
    print(fresh_snapshot(), end="")
