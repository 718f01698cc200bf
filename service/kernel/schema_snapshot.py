"""A normalised, diffable description of the editroom schema, read from the catalogs.

`editroom db schema` prints it; tests compare it with db/schema.expected so that a migration
or function change that alters the schema shows up in review. Function bodies are left out
(db/functions/ is their source); their signatures, results and comments are in. Partitions
(a day of edit_history each) are data, not schema: their parents stand for them.
"""

from typing import Any

import psycopg

SNAPSHOT_QUERIES: dict[str, str] = {
    "type": """
        SELECT format('%s: %s', t.typname, string_agg(quote_literal(e.enumlabel), ', '
                      ORDER BY e.enumsortorder))
          FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
         WHERE t.typnamespace = 'editroom'::regnamespace
         GROUP BY t.typname""",
    "table": """
        SELECT format('%s %s', c.relname, coalesce(array_to_string(c.reloptions, ', '), ''))
          FROM pg_class c
         WHERE c.relnamespace = 'editroom'::regnamespace AND c.relkind IN ('r', 'p')
           AND NOT c.relispartition""",
    "column": """
        SELECT format('%s.%s %s%s%s', c.relname, a.attname,
                      format_type(a.atttypid, a.atttypmod),
                      CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
                      CASE WHEN d.adbin IS NULL THEN ''
                           WHEN a.attgenerated = 's' THEN ' GENERATED '
                           ELSE ' DEFAULT ' END || coalesce(pg_get_expr(d.adbin, d.adrelid), ''))
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE c.relnamespace = 'editroom'::regnamespace AND c.relkind IN ('r', 'p', 'v')
           AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped""",
    "constraint": """
        SELECT format('%s %s: %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
          FROM pg_constraint c
         WHERE c.connamespace = 'editroom'::regnamespace AND c.conparentid = 0""",
    "index": """
        SELECT pg_get_indexdef(i.indexrelid)
          FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE c.relnamespace = 'editroom'::regnamespace AND NOT c.relispartition""",
    "function": """
        SELECT format('%s(%s) -> %s [%s, %s]%s', p.proname,
                      pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
                      l.lanname,
                      CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable'
                                         ELSE 'volatile' END,
                      CASE WHEN obj_description(p.oid, 'pg_proc') IS NULL
                           THEN ' UNDOCUMENTED' ELSE '' END)
          FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
         WHERE p.pronamespace = 'editroom'::regnamespace""",
    "trigger": """
        SELECT pg_get_triggerdef(t.oid)
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = 'editroom'::regnamespace AND NOT t.tgisinternal
           AND t.tgparentid = 0""",
    "view": """
        SELECT c.relname
          FROM pg_class c
         WHERE c.relnamespace = 'editroom'::regnamespace AND c.relkind IN ('v', 'm')""",
}


def snapshot(conn: "psycopg.Connection[Any]") -> str:
    """One sorted line per schema object, grouped by kind."""
    lines: list[str] = []
    for kind, query in SNAPSHOT_QUERIES.items():
        rows = sorted(str(row[0]).strip() for row in conn.execute(query.encode()).fetchall())
        lines.extend(f"{kind} {row}" for row in rows)
    return "\n".join(lines) + "\n"
