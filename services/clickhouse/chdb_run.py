"""Runs ClickHouse statements on a current engine (chdb, in-process) and reports each one's outcome.

stdin:  {"statements": ["CREATE DATABASE ccfed", "USE ccfed", ...]}
stdout: {"results": [{"ok": true, "rows": [...]} | {"ok": false, "error": "..."}, ...]}

All statements run in order in one session, so USE and the tables created earlier hold for the
later ones. A failing statement is reported and the next ones still run: the caller wants every
failure at once. Rows come back as JSONEachRow objects, so a statement must not carry a FORMAT
clause of its own. Exit code 2 only when the input itself is malformed.

Run with the venv that scripts/install.sh builds: .ccfed/venv/bin/python chdb_run.py
"""

import json
import os
import sys
import tempfile


def read_statements(text):
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"stdin is not JSON: {e}") from None
    statements = doc.get("statements") if isinstance(doc, dict) else None
    if not isinstance(statements, list) or not all(isinstance(s, str) for s in statements):
        raise ValueError('stdin must be {"statements": ["<sql>", ...]}: a list of strings')
    return statements


def run(session, statement):
    try:
        text = str(session.query(statement, "JSONEachRow"))
    except Exception as e:  # chdb raises its own error class, a RuntimeError or a ValueError
        return {"ok": False, "error": str(e).strip()}
    try:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError:
        rows = None
    if rows is None or not all(isinstance(r, dict) for r in rows):
        return {
            "ok": False,
            "error": "ran, but its output is not JSONEachRow (a FORMAT clause of its own?): "
            + text[:200],
        }
    return {"ok": True, "rows": rows}


def main():
    try:
        statements = read_statements(sys.stdin.read())
    except ValueError as e:
        print(f"chdb_run.py: {e}", file=sys.stderr)
        return 2
    # The engine may print to fd 1 itself; keep stdout for the one JSON document the caller parses.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    from chdb import session as chdb_session

    with tempfile.TemporaryDirectory(prefix="ccfed-chdb-") as path:
        session = chdb_session.Session(path)
        try:
            results = [run(session, s) for s in statements]
        finally:
            session.close()
    json.dump({"results": results}, out)
    out.write("\n")
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
