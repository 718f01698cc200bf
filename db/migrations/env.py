"""Alembic environment: one transaction per upgrade, db/functions/ re-applied at head.

The connection is handed in by service.kernel.migrations (config.attributes["connection"]) or, for
someone running plain `alembic`, opened from DATABASE_URL.
"""

from alembic import context

from service.kernel.migrations import run_in_transaction

run_in_transaction(context)
