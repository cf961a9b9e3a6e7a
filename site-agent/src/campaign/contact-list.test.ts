import { describe, expect, it } from 'vitest';
import { ContactListError, parseContactCsv } from './contact-list.js';

const parse = (text: string) => parseContactCsv(text, { maxContacts: 100 });

/** The problems a refused list reports. */
function problemsOf(text: string, maxContacts = 100) {
  try {
    parseContactCsv(text, { maxContacts });
  } catch (err) {
    if (err instanceof ContactListError) return err.problems;
    throw err;
  }
  throw new Error('the list was accepted');
}

describe('uploaded contact lists', () => {
  it('reads customer, number and time zone in any column order, quotes and a BOM allowed', () => {
    const text =
      '\uFEFFnumber,customer_id,time_zone\r\n' +
      '+447700900001,c-1,Europe/London\r\n' +
      '\r\n' +
      '"+81300000001","c-2","Asia/Tokyo"\r\n';
    expect(parse(text)).toEqual([
      { contactId: 'c-1', customerId: 'c-1', number: '+447700900001', timeZone: 'Europe/London' },
      { contactId: 'c-2', customerId: 'c-2', number: '+81300000001', timeZone: 'Asia/Tokyo' },
    ]);
  });

  it('refuses the whole list with the line of every bad row, never echoing a number', () => {
    const text = [
      'customer_id,number,time_zone',
      'c-1,+447700900001,Europe/London',
      'c-2,07700 900002,Europe/London',
      'c-3,+447700900003,Mars/Olympus',
      'c-1,+447700900004,Europe/London',
      'c-5,+447700900001,Europe/London',
      'bad id!,+447700900006,Europe/London',
    ].join('\n');
    const problems = problemsOf(text);
    expect(problems.map((p) => p.line)).toEqual([3, 4, 5, 6, 7]);
    expect(problems[0]!.message).toMatch(/not E\.164/);
    expect(problems[1]!.message).toMatch(/Mars\/Olympus.*IANA/);
    expect(problems[2]!.message).toMatch(/c-1 again \(first on line 2\)/);
    expect(problems[3]!.message).toMatch(/number of line 2 again/);
    expect(JSON.stringify(problems)).not.toContain('900002');
  });

  it('names missing and unknown columns', () => {
    expect(problemsOf('customer_id,phone\nc-1,+447700900001\n')).toEqual([
      {
        line: 1,
        message:
          'missing column(s) number, time_zone; unknown column(s) phone (expected customer_id, number, time_zone)',
      },
    ]);
  });

  it('refuses broken CSV, an empty list and one over the limit', () => {
    expect(
      problemsOf('customer_id,number,time_zone\nc-1,"+4477,Europe/London\n')[0]!.message,
    ).toMatch(/quote/i);
    expect(problemsOf('customer_id,number,time_zone\n')).toEqual([
      { line: 1, message: 'no contacts' },
    ]);
    const two = 'customer_id,number,time_zone\nc-1,+447700900001,UTC\nc-2,+447700900002,UTC\n';
    expect(problemsOf(two, 1)[0]!.message).toMatch(/at most 1/);
  });
});
