"""ClickHouse over its HTTP interface, with the CCFED_CLICKHOUSE_* login the TypeScript job has.

Only the standard library and pandas: results come as TabSeparatedWithNames, inserts go as
TabSeparated bodies. The SQL itself is built and escaped by the TypeScript side
(central/analytics/src), which tests it on ClickHouse 18.16 and current ClickHouse alike; this
module only carries it.
"""

import base64
import csv
import io
import os
import urllib.error
import urllib.parse
import urllib.request

import pandas as pd


class ClickHouseError(RuntimeError):
    pass


class ClickHouse:
    def __init__(self, url, user, password, database, timeout_s=1800):
        self.url = url.rstrip("/")
        self.database = database
        self.timeout_s = timeout_s
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}

    @classmethod
    def from_env(cls):
        missing = [
            k
            for k in ("CCFED_CLICKHOUSE_URL", "CCFED_CLICKHOUSE_DATABASE", "CCFED_CLICKHOUSE_USER")
            if not os.environ.get(k)
        ]
        if missing:
            raise ClickHouseError(f"missing environment: {', '.join(missing)}")
        return cls(
            os.environ["CCFED_CLICKHOUSE_URL"],
            os.environ["CCFED_CLICKHOUSE_USER"],
            os.environ.get("CCFED_CLICKHOUSE_PASSWORD", ""),
            os.environ["CCFED_CLICKHOUSE_DATABASE"],
        )

    def _post(self, query, body=b""):
        params = urllib.parse.urlencode({"database": self.database, "query": query})
        req = urllib.request.Request(
            f"{self.url}/?{params}", data=body, headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as res:
                return res.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace").strip()
            raise ClickHouseError(f"ClickHouse {e.code}: {detail[:2000]}") from None

    def frame(self, sql, strings=()):
        """The rows of `sql` as a DataFrame; columns named in `strings` stay text."""
        text = self._post(sql.rstrip() + "\nFORMAT TabSeparatedWithNames")
        if not text.strip():
            return pd.DataFrame()
        return pd.read_csv(
            io.BytesIO(text),
            sep="\t",
            quoting=csv.QUOTE_NONE,
            keep_default_na=False,
            na_filter=False,
            dtype={name: str for name in strings},
        )

    def insert(self, table, columns, rows):
        """Inserts `rows` (sequences of str/int/float/list-of-str, in `columns` order)."""
        body = "".join("\t".join(tsv_field(v) for v in row) + "\n" for row in rows)
        if body:
            self._post(
                f"INSERT INTO {table} ({', '.join(columns)}) FORMAT TabSeparated", body.encode()
            )


_ESCAPES = str.maketrans(
    {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0", "'": "\\'"}
)


def tsv_field(v):
    if isinstance(v, str):
        return v.translate(_ESCAPES)
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(
            f"'{x.translate(_ESCAPES)}'" if isinstance(x, str) else tsv_field(x) for x in v
        ) + "]"
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError(f"cannot write {v} to ClickHouse")
        return repr(v)
    return str(v)
