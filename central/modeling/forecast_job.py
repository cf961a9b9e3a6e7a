"""Forecasts offered calls and AHT for every series (tenant, site, skill) and 15-minute interval of
the horizon; run by central/analytics/src/staffing-plan.ts (the scheduled staffing job), which
sizes each interval with Erlang A, and by bench:analytics, which measures the accuracy.

stdin:  {"history_sql": "...",           rows: tenant_id, site_id, skill, bucket (unix s),
                                          offered, handled, handle_s
         "history_start": s, "history_end": s,   the history window [start, end), whole buckets
         "horizon_start": s, "horizon_intervals": n,
         "evaluate": false}              true: the horizon is held out history; also return WAPE
stdout: {"series": [{"tenant_id", "site_id", "skill", "offered": [...], "aht_s": [... | null],
                     "history_calls": n}], "method": "...", "seconds": s,
         "accuracy": [{"tenant_id", "site_id", "skill", "actual": [...]}]}   (evaluate only)
env:    CCFED_CLICKHOUSE_URL / _DATABASE / _USER / _PASSWORD
"""

import json
import sys
import time

import numpy as np
import sklearn

import forecast_model as fm
from clickhouse_http import ClickHouse

METHOD = (
    f"scikit-learn {sklearn.__version__} PoissonRegressor: weekday × interval seasonality "
    "with a linear trend (offered), day type × hour with trend weighted by handled calls (AHT)"
)


def run(req, ch):
    started = time.perf_counter()
    frame = ch.frame(req["history_sql"], ("tenant_id", "site_id", "skill"))
    start, end = int(req["history_start"]), int(req["history_end"])
    grid = np.arange(start, end, fm.INTERVAL_S, dtype=np.int64)
    horizon = int(req["horizon_start"]) + fm.INTERVAL_S * np.arange(
        int(req["horizon_intervals"]), dtype=np.int64
    )
    evaluate = bool(req.get("evaluate"))
    series, accuracy = [], []
    if len(frame):
        for (tenant, site, skill), rows in frame.groupby(["tenant_id", "site_id", "skill"], sort=True):
            index = ((rows["bucket"].to_numpy() - start) // fm.INTERVAL_S).astype(int)
            inside = (index >= 0) & (index < len(grid))
            cols = {}
            for name in ("offered", "handled", "handle_s"):
                full = np.zeros(len(grid))
                np.add.at(full, index[inside], rows[name].to_numpy(dtype=float)[inside])
                cols[name] = full
            if cols["offered"].sum() == 0:
                continue
            offered, aht = fm.forecast(grid, cols["offered"], cols["handled"], cols["handle_s"], horizon)
            series.append(
                {
                    "tenant_id": tenant,
                    "site_id": site,
                    "skill": skill,
                    "offered": [round(float(v), 4) for v in offered],
                    "aht_s": None if aht is None else [round(float(v), 2) for v in aht],
                    "history_calls": int(cols["offered"].sum()),
                }
            )
            if evaluate:
                h_index = ((rows["bucket"].to_numpy() - horizon[0]) // fm.INTERVAL_S).astype(int)
                later = (h_index >= 0) & (h_index < len(horizon))
                actual = np.zeros(len(horizon))
                np.add.at(actual, h_index[later], rows["offered"].to_numpy(dtype=float)[later])
                accuracy.append({"tenant_id": tenant, "site_id": site, "skill": skill, "actual": actual.tolist()})
    out = {"series": series, "method": METHOD, "seconds": round(time.perf_counter() - started, 3)}
    if evaluate:
        out["accuracy"] = accuracy
    return out


def main():
    try:
        req = json.loads(sys.stdin.read())
    except json.JSONDecodeError as e:
        print(f"forecast_job.py: stdin is not JSON: {e}", file=sys.stderr)
        return 2
    json.dump(run(req, ClickHouse.from_env()), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
