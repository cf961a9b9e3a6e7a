-- Customer profiles from the CRM (CrmEvent's CustomerProfile, kind 'profile'): typed attributes
-- the fitted churn model reads beside the contact-centre behaviour (central/analytics/src/
-- churn-features.ts). 0 or '' on the other kinds. The customer's products come from the holdings
-- snapshots already here. 18.16 has no ADD COLUMN IF NOT EXISTS: migrate() skips this ALTER when
-- the columns are already there (a run cut short after it).
ALTER TABLE crm_events
    ADD COLUMN tenure_months UInt32,
    ADD COLUMN plan String,
    ADD COLUMN monthly_charges_minor Int64,
    ADD COLUMN total_charges_minor Int64,
    ADD COLUMN payment_method String,
    ADD COLUMN paperless_billing UInt8,
    ADD COLUMN flags Array(String);
