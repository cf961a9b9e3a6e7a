"""Fits, validates and stores one tenant's churn model; run by central/analytics/src/
churn-modeling.ts (the scheduled scoring job) once per tenant, and by bench:analytics.

stdin:  one JSON request (central/analytics/src/churn-fit.ts: ChurnFitRequest)
stdout: one JSON result (ChurnFitResult): the decision ('fitted' or 'fallback' and why), the
        model's version, validation AUC next to the hand-set model's, calibration, coefficients
env:    CCFED_CLICKHOUSE_URL / _DATABASE / _USER / _PASSWORD (the analytics role)

Validation 'out_of_time': fitted on the snapshot at train_sql's date with its label, measured on
the later snapshot of valid_sql (churn after a date the fit never saw); the model that scores is
then fitted again, the same way, on that later snapshot. 'holdout': a stratified random split of
one snapshot (for data without dates, such as the public Telco set), refitted on all of it.
A tenant falls back to the hand-set model (nothing written here) when a snapshot has fewer than
min_customers customers or min_churners churners, or when the fit does not beat the hand-set
model's AUC on the same validation customers.
"""

import json
import sys
import time

import pandas as pd

import churn_model as cm
from clickhouse_http import ClickHouse

STRINGS = ("tenant_id", "customer_id", "site_id", "plan", "payment_method", "products", "flags",
           "retention_group")


def counts(frame):
    return {"customers": int(len(frame)), "churners": int(frame["churned"].sum()) if len(frame) else 0}


def too_small(name, frame, req):
    c = counts(frame)
    if c["customers"] < req["min_customers"] or c["churners"] < req["min_churners"]:
        return (
            f"too little history: the {name} snapshot has {c['customers']} customers and "
            f"{c['churners']} churners (needs {req['min_customers']} and {req['min_churners']})"
        )
    return None


def run(req, ch):
    spec = req["spec"]
    seed = req.get("seed", 1)
    started = time.perf_counter()
    train = ch.frame(req["train_sql"], STRINGS)
    if req["mode"] == "out_of_time":
        valid = ch.frame(req["valid_sql"], STRINGS)
        problem = too_small("training", train, req) or too_small("validation", valid, req)
    else:
        problem = too_small("training", train, req)
        if not problem:
            train, valid = cm.holdout_split(train, req.get("holdout_share", 0.2), seed)
    result = {"tenant_id": req["tenant_id"], "library": cm.LIBRARY, "train": counts(train)}
    if problem:
        return {**result, "decision": "fallback", "reason": problem}
    result["valid"] = counts(valid)

    model, fit_s = cm.fit(train, spec, seed)
    predicted = cm.predict(model, valid, spec)
    fitted_auc = cm.auc(valid["churned"], predicted)
    hand_set_auc = cm.auc(valid["churned"], valid["hand_set_risk"])
    calibration = cm.calibration(valid["churned"], predicted)
    result.update(
        {
            "auc": fitted_auc,
            "hand_set_auc": hand_set_auc,
            "calibration": calibration,
            "validated_version": cm.model_version(model, spec),
        }
    )
    if fitted_auc is None or (hand_set_auc is not None and fitted_auc <= hand_set_auc):
        return {
            **result,
            "decision": "fallback",
            "reason": f"the fitted model's validation AUC {fitted_auc} does not beat the hand-set "
            f"model's {hand_set_auc}",
            "fit_seconds": round(time.perf_counter() - started, 3),
        }

    # The model that scores: the same fit on the newest labelled customers (out of time), or on
    # the whole snapshot (holdout).
    final_data = valid if req["mode"] == "out_of_time" else pd.concat([train, valid])
    final, final_fit_s = cm.fit(final_data, spec, seed)
    names, coefs, intercept = cm.coefficients(final, spec)
    version = cm.model_version(final, spec)
    result.update(
        {
            "decision": "fitted",
            "model_version": version,
            "feature_names": names,
            "coefficients": coefs,
            "intercept": intercept,
            "fit_only_seconds": round(fit_s + final_fit_s, 3),
        }
    )
    if req.get("score_sql"):
        result["scored"] = score(req, ch, final, final_data, version)
    result["fit_seconds"] = round(time.perf_counter() - started, 3)
    return result


def score(req, ch, model, fitted_on, version):
    """Scores the customers of score_sql and inserts them with their risk, priority, model
    version and reasons into the request's table, passthrough columns first."""
    spec = req["spec"]
    out = req["insert"]
    frame = ch.frame(req["score_sql"], STRINGS)
    if len(frame) == 0:
        return 0
    risk = cm.predict(model, frame, spec)
    means = cm.transformed_means(model, fitted_on, spec)
    why = cm.reasons(model, frame, spec, means, req.get("reason_threshold", 0.3), req.get("max_reasons", 5))
    passthrough = out["passthrough"]
    columns = list(out["constants"].keys()) + passthrough + ["risk", "priority", "model_version", "reasons"]
    constants = list(out["constants"].values())
    cols = [frame[c].tolist() for c in passthrough]
    value = frame["value"].astype(float).to_numpy()
    rows = (
        constants + [col[i] for col in cols] + [float(risk[i]), float(risk[i] * value[i]), version, why[i]]
        for i in range(len(frame))
    )
    ch.insert(out["table"], columns, rows)
    return int(len(frame))


def main():
    try:
        req = json.loads(sys.stdin.read())
    except json.JSONDecodeError as e:
        print(f"churn_job.py: stdin is not JSON: {e}", file=sys.stderr)
        return 2
    result = run(req, ClickHouse.from_env())
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
