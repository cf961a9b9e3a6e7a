// The churn-risk model: a logistic score over behaviour the contact centre sees, with fixed,
// documented weights so that every score can be explained by the features that moved it. Pure:
// the features come from churnScoresQuery (churn.ts), which computes the same sum in SQL.

/** What a customer did in the look-back window before `asOf` (see docs/analytics.md). */
export interface ChurnFeatures {
  /** Calls in the last 30 days beyond the first. */
  readonly repeat_contacts: number;
  /** Complaint points from surveys in the last 90 days: minor 1, major 2, critical 3. */
  readonly complaint: number;
  /** Calls the caller hung up on before an answer, last 90 days. */
  readonly abandons: number;
  /** Calls that waited more than 2 minutes (answered or not), last 90 days. */
  readonly long_waits: number;
  /** Surveys with CSAT 1 or 2, last 90 days. */
  readonly low_csat: number;
  /** CRM cancellation-intent events (intent_only = 1), last 90 days. */
  readonly cancellation_intent: number;
}

export type ChurnReason = keyof ChurnFeatures;

export const CHURN_FEATURES: readonly ChurnReason[] = [
  'repeat_contacts',
  'complaint',
  'abandons',
  'long_waits',
  'low_csat',
  'cancellation_intent',
];

/**
 * Log-odds added per unit of each feature, and the count beyond which more of the same adds
 * nothing (so that one very noisy customer cannot dominate a list). The intercept is the
 * log-odds of a customer with no signal at all: 1 / (1 + e^2.6) ≈ 7 %.
 */
export const CHURN_MODEL = {
  intercept: -2.6,
  weights: {
    repeat_contacts: { perUnit: 0.3, cap: 5 },
    complaint: { perUnit: 0.45, cap: 6 },
    abandons: { perUnit: 0.35, cap: 4 },
    long_waits: { perUnit: 0.25, cap: 4 },
    low_csat: { perUnit: 0.6, cap: 3 },
    cancellation_intent: { perUnit: 1.6, cap: 1 },
  },
  /** A feature is named as a reason when it adds at least this much log-odds. */
  reasonThreshold: 0.3,
} as const satisfies {
  intercept: number;
  weights: Record<ChurnReason, { perUnit: number; cap: number }>;
  reasonThreshold: number;
};

/** The log-odds each feature adds for this customer. */
export function churnContributions(f: ChurnFeatures): Record<ChurnReason, number> {
  const out = {} as Record<ChurnReason, number>;
  for (const name of CHURN_FEATURES) {
    const { perUnit, cap } = CHURN_MODEL.weights[name];
    out[name] = perUnit * Math.min(Math.max(f[name], 0), cap);
  }
  return out;
}

/** Churn risk in (0, 1) and the features that raised it most, largest first. */
export function scoreChurn(f: ChurnFeatures): { risk: number; reasons: ChurnReason[] } {
  const contributions = churnContributions(f);
  const z = CHURN_FEATURES.reduce<number>(
    (sum, name) => sum + contributions[name],
    CHURN_MODEL.intercept,
  );
  const reasons = CHURN_FEATURES.filter(
    (n) => contributions[n] >= CHURN_MODEL.reasonThreshold,
  ).sort(
    (a, b) =>
      contributions[b] - contributions[a] || CHURN_FEATURES.indexOf(a) - CHURN_FEATURES.indexOf(b),
  );
  return { risk: 1 / (1 + Math.exp(-z)), reasons };
}

/**
 * Area under the ROC curve of `scores` against 0/1 `labels`: the chance that a random churner
 * scores above a random stayer (ties count half). Throws when either class is empty.
 */
export function rocAuc(scores: readonly number[], labels: readonly boolean[]): number {
  if (scores.length !== labels.length)
    throw new Error('rocAuc: scores and labels differ in length');
  const order = scores.map((s, i) => ({ s, y: labels[i]! })).sort((a, b) => a.s - b.s);
  let positives = 0;
  let rankSum = 0;
  // Average ranks over ties (Mann-Whitney U).
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j < order.length && order[j]!.s === order[i]!.s) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if (order[k]!.y) {
        positives++;
        rankSum += rank;
      }
    }
    i = j;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0)
    throw new Error('rocAuc: needs both churners and stayers');
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
