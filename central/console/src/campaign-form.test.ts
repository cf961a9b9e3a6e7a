import { describe, expect, it } from 'vitest';
import {
  createBody,
  listContacts,
  listFileProblem,
  MAX_LIST_FILE_BYTES,
  type Form,
} from './campaign-form.js';

const CSV = 'customer_id,number,time_zone\nc-1,+447700900021,UTC\n';
const blank: Form = {
  siteId: ' beijing ',
  tenantId: '',
  campaignId: 'spring',
  skill: 'sales',
  mode: 'progressive',
  contactsCsv: CSV,
  dnc: '',
  windowStart: '',
  windowEnd: '',
  maxAttempts: '',
  ringTimeoutSeconds: '',
  source: 'csv',
  listSize: '',
  sampleBaseRate: '',
  sampleDays: '',
};

describe('the campaign form as the API takes it', () => {
  it('leaves empty rules out, so the site’s defaults hold, and sends the list as typed', () => {
    expect(createBody(blank, 'tenant')).toEqual({
      siteId: 'beijing',
      campaignId: 'spring',
      skill: 'sales',
      mode: 'progressive',
      contactsCsv: CSV,
    });
  });

  it('sends the rules a supervisor filled in: window, attempts, ring timeout, do-not-call list', () => {
    const body = createBody(
      {
        ...blank,
        tenantId: 'acme-bank',
        windowStart: '09:00',
        windowEnd: ' 20:30',
        maxAttempts: '3',
        ringTimeoutSeconds: '25 ',
        dnc: '+447700900012, +447700900013\n+447700900014',
      },
      'hq',
    );
    expect(body).toMatchObject({
      tenantId: 'acme-bank',
      window: { start: '09:00', end: '20:30' },
      maxAttempts: 3,
      ringTimeoutSeconds: 25,
      dnc: ['+447700900012', '+447700900013', '+447700900014'],
    });
  });

  it('never names a tenant for a tenant client: the server takes its own', () => {
    expect(createBody({ ...blank, tenantId: 'zenith-telecom' }, 'tenant')).not.toHaveProperty(
      'tenantId',
    );
  });

  it('sends what is not a number as typed, and half a window, for the server to name the field', () => {
    expect(
      createBody({ ...blank, maxAttempts: 'three', windowStart: '09:00' }, 'site'),
    ).toMatchObject({ maxAttempts: 'three', window: { start: '09:00', end: '' } });
  });

  it('sends a churn or survey list as its source and size only, never the CSV in the box', () => {
    expect(createBody({ ...blank, source: 'churn', listSize: '200' }, 'tenant')).toEqual({
      siteId: 'beijing',
      campaignId: 'spring',
      skill: 'sales',
      mode: 'progressive',
      source: 'churn',
      listSize: 200,
    });
    expect(
      createBody(
        { ...blank, source: 'survey', sampleBaseRate: '0.05', sampleDays: '3', listSize: '' },
        'tenant',
      ),
    ).toEqual({
      siteId: 'beijing',
      campaignId: 'spring',
      skill: 'sales',
      mode: 'progressive',
      source: 'survey',
      sample: { baseRate: 0.05, days: 3 },
    });
    // the draw belongs to the survey sample only
    expect(
      createBody({ ...blank, source: 'churn', sampleBaseRate: '0.05' }, 'tenant'),
    ).not.toHaveProperty('sample');
  });
});

describe('a picked list file', () => {
  it('is sent up to the API’s 8 MiB body, less room for the rest of the form', () => {
    expect(listFileProblem('big.csv', 4_700_000)).toBeUndefined();
    expect(listFileProblem('big.csv', MAX_LIST_FILE_BYTES)).toBeUndefined();
    expect(listFileProblem('huge.csv', MAX_LIST_FILE_BYTES + 1)).toBe(
      'huge.csv is 8.0 MiB; a list may be at most 8 MiB (about 100,000 contacts)',
    );
    expect(listFileProblem('none.csv', 0)).toBe('none.csv is empty');
  });

  it('counts its contacts as the lines after the header, blank ones aside', () => {
    expect(listContacts(CSV)).toBe(1);
    expect(listContacts(`${CSV}\r\n\nc-2,+447700900022,UTC\r\n`)).toBe(2);
    expect(listContacts('customer_id,number,time_zone')).toBe(0);
    expect(listContacts('')).toBe(0);
  });
});
