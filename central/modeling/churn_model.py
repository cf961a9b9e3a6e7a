"""The fitted churn model: a regularised logistic regression (scikit-learn) over one tenant's
customers, with its validation, calibration and per-customer reasons. Pure: frames in, numbers out.

Features (the columns central/analytics/src/churn-features.ts selects, named by the request's spec):
  numeric      counts and amounts: log1p, then standardised;
  categorical  one-hot (categories seen fewer than 10 times pooled as infrequent);
  sets         '|'-joined members (products held, flags): one 0/1 column per member, the 30 most
               common.
A customer's reason is a feature whose term adds at least `threshold` log-odds compared with the
tenant's average customer: coefficient × (the customer's value − the mean value), summed over a
category's columns; the largest first.
"""

import hashlib
import json
import time

import numpy as np
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

LIBRARY = f"scikit-learn {sklearn.__version__} LogisticRegression"
CALIBRATION_BINS = 10


def _split_members(text):
    return [m for m in text.split("|") if m]


def _log1p_nonnegative(x):
    return np.log1p(np.clip(np.asarray(x, dtype=float), 0, None))


def build_model(spec, seed=1):
    parts = [
        (
            "num",
            make_pipeline(
                FunctionTransformer(_log1p_nonnegative, feature_names_out="one-to-one"),
                StandardScaler(),
            ),
            list(spec["numeric"]),
        ),
        (
            "cat",
            OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=10),
            list(spec["categorical"]),
        ),
    ]
    for column in spec["sets"]:
        parts.append(
            (
                f"set_{column}",
                CountVectorizer(
                    tokenizer=_split_members,
                    token_pattern=None,
                    lowercase=False,
                    binary=True,
                    max_features=30,
                ),
                column,
            )
        )
    return Pipeline(
        [
            ("features", ColumnTransformer(parts, sparse_threshold=0)),
            ("logit", LogisticRegression(C=1.0, max_iter=2000, random_state=seed)),
        ]
    )


def prepare(frame, spec):
    """The spec's columns with the types the transformers expect (sets and categories as text)."""
    out = frame.copy()
    for c in spec["categorical"] + spec["sets"]:
        out[c] = out[c].astype(str)
    for c in spec["numeric"]:
        out[c] = out[c].astype(float)
    return out


def fit(frame, spec, seed=1):
    started = time.perf_counter()
    model = build_model(spec, seed)
    model.fit(prepare(frame, spec), frame["churned"].astype(int))
    return model, time.perf_counter() - started


def predict(model, frame, spec):
    return model.predict_proba(prepare(frame, spec))[:, 1]


def auc(labels, scores):
    labels = np.asarray(labels, dtype=int)
    if labels.min() == labels.max():
        return None
    return float(roc_auc_score(labels, scores))


def calibration(labels, predicted, bins=CALIBRATION_BINS):
    """Equal-count bins of the predicted risk: mean predicted, observed rate, customers; and the
    expected calibration error, the customers-weighted mean of |predicted − observed|."""
    labels = np.asarray(labels, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    order = np.argsort(predicted, kind="stable")
    rows = []
    error = 0.0
    for part in np.array_split(order, min(bins, len(order))):
        if len(part) == 0:
            continue
        p = float(predicted[part].mean())
        o = float(labels[part].mean())
        rows.append({"predicted": p, "observed": o, "customers": int(len(part))})
        error += len(part) * abs(p - o)
    return {"error": error / max(1, len(order)), "bins": rows}


def _categorical_groups(model, spec):
    names = model.named_steps["features"].get_feature_names_out()
    cats = sorted(spec["categorical"], key=len, reverse=True)
    out = []
    for name in names:
        block, column = name.split("__", 1)
        if block == "num":
            out.append(("num", column, None))
        elif block == "cat":
            feature = next(c for c in cats if column.startswith(c + "_"))
            out.append(("cat", feature, column[len(feature) + 1 :]))
        else:
            out.append(("set", block[len("set_") :], column))
    return out


def coefficients(model, spec):
    """(name, coefficient) per transformed column, and the intercept."""
    logit = model.named_steps["logit"]
    names = []
    for kind, feature, member in _categorical_groups(model, spec):
        names.append(feature if kind == "num" else f"{feature}:{member}")
    return names, [float(c) for c in logit.coef_[0]], float(logit.intercept_[0])


def model_version(model, spec):
    names, coefs, intercept = coefficients(model, spec)
    doc = json.dumps(
        {
            "library": LIBRARY,
            "names": names,
            "coefficients": [round(c, 6) for c in coefs],
            "intercept": round(intercept, 6),
        },
        sort_keys=True,
    )
    return "logit-" + hashlib.sha256(doc.encode()).hexdigest()[:12]


def reasons(model, frame, spec, means, threshold=0.3, most=5):
    """Each customer's reasons: features adding ≥ threshold log-odds over the average customer,
    largest first. `means` are the transformed columns' means over the data the model was fitted
    on (the average customer)."""
    x = model.named_steps["features"].transform(prepare(frame, spec))
    terms = (x - means) * model.named_steps["logit"].coef_[0]
    groups = _categorical_groups(model, spec)
    # One term per numeric column and set member, one per category (its columns summed).
    columns, names_held, names_lacking = [], [], []
    for j, (kind, feature, member) in enumerate(groups):
        if kind == "num":
            columns.append(terms[:, j])
            names_held.append(feature)
            names_lacking.append(feature)
        elif kind == "set":
            columns.append(terms[:, j])
            names_held.append(f"{feature}:{member}")
            names_lacking.append(f"{feature}:no {member}")
    held = np.column_stack([x[:, j] > 0 for j, g in enumerate(groups) if g[0] != "cat"]) if columns else None
    categorical = [c for c in spec["categorical"] if any(g[1] == c and g[0] == "cat" for g in groups)]
    for feature in categorical:
        cols = [j for j, g in enumerate(groups) if g[0] == "cat" and g[1] == feature]
        columns.append(terms[:, cols].sum(axis=1))
    n_plain = len(names_held)
    g = np.column_stack(columns) if columns else np.zeros((len(frame), 0))
    top = np.argsort(-g, axis=1, kind="stable")[:, :most]
    values = {c: frame[c].astype(str).to_numpy() for c in categorical}
    result = []
    for i in range(g.shape[0]):
        row = []
        for j in top[i]:
            if g[i, j] < threshold:
                break
            if j < n_plain:
                row.append(names_held[j] if held[i, j] else names_lacking[j])
            else:
                feature = categorical[j - n_plain]
                row.append(f"{feature}:{values[feature][i]}")
        result.append(row)
    return result


def transformed_means(model, frame, spec):
    return np.asarray(model.named_steps["features"].transform(prepare(frame, spec)).mean(axis=0))


def holdout_split(frame, share, seed):
    train, test = train_test_split(
        frame, test_size=share, stratify=frame["churned"], random_state=seed
    )
    return train, test
