import { describe, expect, it } from 'vitest';
import { ContactListError, parseContactCsv, SLICE_CHARS } from './contact-list.js';

const parse = (text: string) => parseContactCsv(text, { maxContacts: 100 });

/** The problems a refused list reports. */
async function problemsOf(text: string, maxContacts = 100) {
  try {
    await parseContactCsv(text, { maxContacts });
  } catch (err) {
    if (err instanceof ContactListError) return err.problems;
    throw err;
  }
  throw new Error('the list was accepted');
}

describe('uploaded contact lists', () => {
  it('reads customer, number and time zone in any column order, quotes and a BOM allowed', async () => {
    const text =
      '\uFEFFnumber,customer_id,time_zone\r\n' +
      '+447700900001,c-1,Europe/London\r\n' +
      '\r\n' +
      '"+81300000001","c-2","Asia/Tokyo"\r\n';
    expect(await parse(text)).toEqual([
      { contactId: 'c-1', customerId: 'c-1', number: '+447700900001', timeZone: 'Europe/London' },
      { contactId: 'c-2', customerId: 'c-2', number: '+81300000001', timeZone: 'Asia/Tokyo' },
    ]);
  });

  it('refuses the whole list with the line of every bad row, never echoing a number', async () => {
    const text = [
      'customer_id,number,time_zone',
      'c-1,+447700900001,Europe/London',
      'c-2,07700 900002,Europe/London',
      'c-3,+447700900003,Mars/Olympus',
      'c-1,+447700900004,Europe/London',
      'c-5,+447700900001,Europe/London',
      'bad id!,+447700900006,Europe/London',
    ].join('\n');
    const problems = await problemsOf(text);
    expect(problems.map((p) => p.line)).toEqual([3, 4, 5, 6, 7]);
    expect(problems[0]!.message).toMatch(/not E\.164/);
    expect(problems[1]!.message).toMatch(/Mars\/Olympus.*IANA/);
    expect(problems[2]!.message).toMatch(/c-1 again \(first on line 2\)/);
    expect(problems[3]!.message).toMatch(/number of line 2 again/);
    expect(JSON.stringify(problems)).not.toContain('900002');
  });

  it('names missing and unknown columns', async () => {
    expect(await problemsOf('customer_id,phone\nc-1,+447700900001\n')).toEqual([
      {
        line: 1,
        message:
          'missing column(s) number, time_zone; unknown column(s) phone (expected customer_id, number, time_zone)',
      },
    ]);
  });

  it('refuses broken CSV, an empty list and one over the limit', async () => {
    expect(
      (await problemsOf('customer_id,number,time_zone\nc-1,"+4477,Europe/London\n'))[0]!.message,
    ).toMatch(/quote/i);
    expect(await problemsOf('customer_id,number,time_zone\n')).toEqual([
      { line: 1, message: 'no contacts' },
    ]);
    const two = 'customer_id,number,time_zone\nc-1,+447700900001,UTC\nc-2,+447700900002,UTC\n';
    expect((await problemsOf(two, 1))[0]!.message).toMatch(/at most 1/);
  });

  it('reads a list of 50,000 contacts without holding the event loop for the whole read', async () => {
    const lines = ['customer_id,number,time_zone'];
    for (let i = 0; i < 50_000; i++)
      lines.push(`c-${i},+86138${String(i).padStart(8, '0')},Asia/Shanghai`);
    let turns = 0;
    const counting = setInterval(() => turns++, 0);
    try {
      const contacts = await parseContactCsv(lines.join('\n'), { maxContacts: 100_000 });
      expect(contacts).toHaveLength(50_000);
      expect(contacts[49_999]).toMatchObject({ customerId: 'c-49999', timeZone: 'Asia/Shanghai' });
    } finally {
      clearInterval(counting);
    }
    // Timers ran while it read (one read in a single turn would let none run): calls routed by
    // the same site agent keep moving while a campaign's list is taken in.
    expect(turns).toBeGreaterThan(10);
  }, 30_000);

  it('keeps a character beyond U+FFFF whole where a slice it reads in ends inside it', async () => {
    // A bad time zone of emoji (two UTF-16 units each), placed so that the first slice would end
    // between the two halves of one; the zone is echoed back intact.
    const head = 'customer_id,number,time_zone';
    const rows: string[] = [];
    const before = () => `${[head, ...rows].join('\n')}\nc-x,+447700999999,Europe/`;
    while (before().length < SLICE_CHARS - 40)
      rows.push(`c-${rows.length},+4477009${String(rows.length).padStart(5, '0')},UTC`);
    if ((SLICE_CHARS - before().length) % 2 === 0) rows[0] = rows[0]!.replace('c-0', 'c-00');
    const zone = `Europe/${'\u{1F600}'.repeat(30)}`;
    const text = `${before()}${zone.slice('Europe/'.length)}\n`;
    expect(text.charCodeAt(SLICE_CHARS - 1)).toBeGreaterThanOrEqual(0xd800); // a high surrogate
    expect(text.charCodeAt(SLICE_CHARS - 1)).toBeLessThanOrEqual(0xdbff);
    const problems = await problemsOf(text, 1000);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toContain(zone.slice(0, 70));
  });
});
