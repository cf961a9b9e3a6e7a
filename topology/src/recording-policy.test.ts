import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadTopology, TopologyError } from './load.js';
import {
  recordingDecision,
  retentionMs,
  sampleBucket,
  tenantRecordingSchema,
  type TenantRecording,
} from './recording-policy.js';

const EXAMPLE = new URL('../example.yaml', import.meta.url).pathname;

function issuesOf(mutate: (doc: any) => void): { path: string; message: string }[] {
  const doc = parse(readFileSync(EXAMPLE, 'utf8'));
  mutate(doc);
  const file = join(mkdtempSync(join(tmpdir(), 'ccfed-recording-')), 'topology.yaml');
  writeFileSync(file, stringify(doc));
  try {
    loadTopology(file);
  } catch (err) {
    expect(err).toBeInstanceOf(TopologyError);
    return [...(err as TopologyError).issues];
  }
  throw new Error('expected the topology to be rejected');
}

const policy = (p: Record<string, unknown>): TenantRecording => tenantRecordingSchema.parse(p);
const callIds = (n: number) => Array.from({ length: n }, (_, i) => `call-${i}@10.0.0.1`);

describe('the recording policy in the topology', () => {
  it('is read from the example: every call of one tenant, a sample of the other with an exception', () => {
    const t = loadTopology(EXAMPLE);
    const [acme, zenith] = t.tenants;
    expect(acme!.recording).toMatchObject({ calls: 'all', retentionDays: 90 });
    expect(zenith!.recording).toMatchObject({ calls: 'sample', samplePercent: 20 });
    expect(zenith!.recording!.skills.complaints).toEqual({ calls: 'all' });
  });

  it('names the path of each mistake', () => {
    const issues = issuesOf((d) => {
      d.tenants[0].recording = {
        calls: 'sample',
        retentionDays: 0,
        skills: { fraud: { calls: 'all' } },
      };
      d.tenants[1].recording = { calls: 'all', samplePercent: 10, retentionDays: 30 };
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        {
          path: 'tenants[0].recording.retentionDays',
          message: 'expected a number of days greater than 0',
        },
        {
          path: 'tenants[0].recording.samplePercent',
          message: 'required with calls: sample (the share of calls to record, e.g. 20)',
        },
        {
          path: 'tenants[1].recording.samplePercent',
          message: 'only with calls: sample (calls is all)',
        },
      ]),
    );
    expect(
      issuesOf((d) => {
        d.tenants[1].recording = {
          calls: 'all',
          retentionDays: 30,
          skills: {
            sales: { calls: 'sometimes' },
            support: { calls: 'sample', samplePercent: 100 },
          },
        };
      }),
    ).toEqual([
      { path: 'tenants[1].recording.skills.sales.calls', message: 'expected all, none or sample' },
      {
        path: 'tenants[1].recording.skills.support.samplePercent',
        message: 'expected a percentage below 100 (use calls: all for every call)',
      },
    ]);
    // Unknown skills are found once the fields are right.
    expect(
      issuesOf((d) => {
        d.tenants[0].recording = {
          calls: 'all',
          retentionDays: 7,
          skills: { fraud: { calls: 'none' } },
        };
      }),
    ).toEqual([
      {
        path: 'tenants[0].recording.skills.fraud',
        message: 'unknown skill "fraud" (known: sales, support, complaints)',
      },
    ]);
  });

  it('refuses an unknown field and a missing retention', () => {
    expect(
      issuesOf((d) => {
        d.tenants[0].recording = { calls: 'all', keepDays: 3 };
      }),
    ).toEqual(
      expect.arrayContaining([
        { path: 'tenants[0].recording', message: 'unknown field "keepDays"' },
        {
          path: 'tenants[0].recording.retentionDays',
          message: 'required field is missing (expected number)',
        },
      ]),
    );
  });
});

describe('recordingDecision', () => {
  it('records nothing for a tenant without a policy', () => {
    expect(recordingDecision({}, 'sales', 'c1')).toEqual({
      record: false,
      source: 'no_policy',
      calls: 'none',
    });
  });

  it('takes the skill exception over the tenant rule', () => {
    const p = policy({
      calls: 'none',
      retentionDays: 30,
      skills: { complaints: { calls: 'all' } },
    });
    expect(recordingDecision({ recording: p }, 'complaints', 'c1')).toEqual({
      record: true,
      source: 'skill',
      calls: 'all',
    });
    expect(recordingDecision({ recording: p }, 'sales', 'c1')).toEqual({
      record: false,
      source: 'tenant',
      calls: 'none',
    });
  });

  it('samples about the given share of calls, the same answer every time for one call id', () => {
    const p = { recording: policy({ calls: 'sample', samplePercent: 20, retentionDays: 30 }) };
    const ids = callIds(20_000);
    const first = ids.map((id) => recordingDecision(p, 'sales', id).record);
    const again = ids.map((id) => recordingDecision(p, 'sales', id).record);
    expect(again).toEqual(first);
    const share = first.filter(Boolean).length / ids.length;
    // 20 % of 20,000: the standard deviation of the share is 0.28 %; 1 % is over 3.5 of them.
    expect(share).toBeGreaterThan(0.19);
    expect(share).toBeLessThan(0.21);
  });

  it('samples nested shares: a call drawn at 10 % is drawn at 50 % too', () => {
    const at = (percent: number) => ({
      recording: policy({ calls: 'sample', samplePercent: percent, retentionDays: 1 }),
    });
    for (const id of callIds(2000)) {
      if (recordingDecision(at(10), 'sales', id).record)
        expect(recordingDecision(at(50), 'sales', id).record).toBe(true);
    }
  });

  it('spreads call ids evenly over [0, 100)', () => {
    const buckets = new Array<number>(10).fill(0);
    for (const id of callIds(50_000)) {
      const b = sampleBucket(id);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(100);
      buckets[Math.floor(b / 10)]! += 1;
    }
    // 5,000 expected per decile, standard deviation 67.
    for (const n of buckets) expect(Math.abs(n - 5000)).toBeLessThan(350);
  });
});

describe('retentionMs', () => {
  it('turns days, fractions too, into milliseconds', () => {
    expect(retentionMs({ recording: policy({ calls: 'all', retentionDays: 90 }) })).toBe(
      90 * 86_400_000,
    );
    expect(retentionMs({ recording: policy({ calls: 'all', retentionDays: 0.5 }) })).toBe(
      43_200_000,
    );
    expect(retentionMs({})).toBeUndefined();
  });
});
