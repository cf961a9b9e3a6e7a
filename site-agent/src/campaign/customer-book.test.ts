import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CustomerBook,
  CustomerBookError,
  CustomerIdsError,
  resolveContacts,
  type CustomerReach,
} from './customer-book.js';

const BOOK = new Map<string, CustomerReach>([
  ['c-1', { number: '+447700900001', timeZone: 'Europe/London' }],
  ['c-3', { number: '+8613800000003', timeZone: 'Asia/Shanghai' }],
]);

describe('resolveContacts', () => {
  it('keeps the list order, names each contact by customer id and counts those with no number', () => {
    expect(resolveContacts(['c-3', 'c-2', 'c-1', 'c-9'], BOOK)).toEqual({
      contacts: [
        {
          contactId: 'c-3',
          customerId: 'c-3',
          number: '+8613800000003',
          timeZone: 'Asia/Shanghai',
        },
        {
          contactId: 'c-1',
          customerId: 'c-1',
          number: '+447700900001',
          timeZone: 'Europe/London',
        },
      ],
      unresolvable: ['c-2', 'c-9'],
    });
  });

  it('refuses a repeated or malformed id, so a list is taken whole or not at all', () => {
    expect(() => resolveContacts(['c-1', 'c-1'], BOOK)).toThrow(CustomerIdsError);
    expect(() => resolveContacts(['c-1', 'c 2'], BOOK)).toThrow(/customer id 2 is not/);
    expect(() => resolveContacts([''], BOOK)).toThrow(CustomerIdsError);
  });
});

describe('CustomerBook', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const bookDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'ccfed-customer-book-'));
    dirs.push(d);
    return d;
  };

  it('reads a tenant’s own export only; a tenant with none has no customers here', async () => {
    const dir = bookDir();
    writeFileSync(
      join(dir, 'acme-bank.csv'),
      'customer_id,number,time_zone\nc-1,+447700900001,Europe/London\n',
    );
    writeFileSync(
      join(dir, 'zenith-telecom.csv'),
      'customer_id,number,time_zone\nc-1,+447700900099,Europe/Paris\n',
    );
    const book = new CustomerBook(dir);
    expect([...(await book.of('acme-bank'))]).toEqual([
      ['c-1', { number: '+447700900001', timeZone: 'Europe/London' }],
    ]);
    expect((await book.of('other-tenant')).size).toBe(0);
    await expect(book.of('../acme-bank')).rejects.toThrow(RangeError);
  });

  it('refuses a damaged export naming its lines, never its numbers', async () => {
    const dir = bookDir();
    writeFileSync(
      join(dir, 'acme-bank.csv'),
      'customer_id,number,time_zone\nc-1,+447700900001,Europe/London\nc-2,07700 900002,Europe/London\n',
    );
    const read = () => new CustomerBook(dir).of('acme-bank');
    await expect(read()).rejects.toThrow(CustomerBookError);
    await expect(read()).rejects.toThrow(/acme-bank are damaged \(line 3: number is not E\.164/);
    await expect(read()).rejects.not.toThrow(/900002/);
  });
});
