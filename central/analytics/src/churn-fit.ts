// What the scoring job asks the Python fitter (central/modeling/churn_job.py) and what it answers,
// and the adapter that runs it. The SQL it reads with is built here (churn-features.ts), so the
// fitter only carries it to ClickHouse; it reads and writes as the job's own ClickHouse login.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const REPO_ROOT = new URL('../../../', import.meta.url).pathname;
/** The venv scripts/install.sh builds from central/modeling/requirements.txt. */
export const MODELS_PYTHON = join(REPO_ROOT, '.ccfed/venv-models/bin/python');
export const MODELING_DIR = join(REPO_ROOT, 'central/modeling');

export interface FeatureSpec {
  readonly numeric: readonly string[];
  readonly categorical: readonly string[];
  readonly sets: readonly string[];
}

export interface ChurnFitRequest {
  readonly tenant_id: string;
  readonly mode: 'out_of_time' | 'holdout';
  /** Labelled snapshots (churnSnapshotQuery with labelDays); valid_sql for out_of_time only. */
  readonly train_sql: string;
  readonly valid_sql?: string;
  /** The customers to score and store; none when only validating. */
  readonly score_sql?: string;
  readonly insert?: {
    readonly table: string;
    /** Columns with one value for every row (e.g. the run's scored_at). */
    readonly constants: Readonly<Record<string, string | number>>;
    /** Columns copied from score_sql's rows, after the constants. */
    readonly passthrough: readonly string[];
  };
  readonly spec: FeatureSpec;
  readonly min_customers: number;
  readonly min_churners: number;
  readonly reason_threshold?: number;
  readonly holdout_share?: number;
  readonly seed?: number;
}

export interface CalibrationBin {
  readonly predicted: number;
  readonly observed: number;
  readonly customers: number;
}

export interface ChurnFitResult {
  readonly tenant_id: string;
  readonly decision: 'fitted' | 'fallback';
  /** Why the tenant falls back to the hand-set model. */
  readonly reason?: string;
  readonly library: string;
  readonly train: { readonly customers: number; readonly churners: number };
  readonly valid?: { readonly customers: number; readonly churners: number };
  /** Validation AUC of the fitted model and of the hand-set model on the same customers. */
  readonly auc?: number | null;
  readonly hand_set_auc?: number | null;
  readonly calibration?: { readonly error: number; readonly bins: readonly CalibrationBin[] };
  readonly model_version?: string;
  readonly feature_names?: readonly string[];
  readonly coefficients?: readonly number[];
  readonly intercept?: number;
  /** Customers scored and stored. */
  readonly scored?: number;
  readonly fit_seconds?: number;
}

/** Runs churn_job.py with `request` on stdin and the ClickHouse login in `env`. */
export function runChurnFit(
  request: ChurnFitRequest,
  env: Readonly<Record<string, string>>,
): Promise<ChurnFitResult> {
  return runModelingJob<ChurnFitResult>('churn_job.py', request, env);
}

/** Runs one of central/modeling's jobs: JSON in on stdin, JSON out on stdout. */
export function runModelingJob<T>(
  script: string,
  request: unknown,
  env: Readonly<Record<string, string>>,
): Promise<T> {
  if (!existsSync(MODELS_PYTHON))
    return Promise.reject(
      new Error(`${MODELS_PYTHON} is missing: run scripts/install.sh (central/modeling)`),
    );
  return new Promise((resolve, reject) => {
    const child = spawn(MODELS_PYTHON, [join(MODELING_DIR, script)], {
      cwd: MODELING_DIR,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.stdin.on('error', () => {});
    child.on('close', (code) => {
      if (code !== 0)
        return reject(new Error(`${script} exited with ${code}: ${stderr.trim().slice(-2000)}`));
      try {
        resolve(JSON.parse(stdout) as T);
      } catch {
        reject(new Error(`${script} printed no JSON result: ${stdout.slice(0, 500)}`));
      }
    });
    child.stdin.end(JSON.stringify(request));
  });
}
