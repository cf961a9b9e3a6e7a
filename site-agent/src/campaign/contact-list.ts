// An uploaded contact list (CSV) checked before it becomes a campaign's: every row a customer
// id, an E.164 number and an IANA time zone, no customer or number twice. A list with any bad row
// is refused whole, with each problem's line number, so that nothing is half-imported. CSV syntax
// (quotes, line ends, a byte-order mark) is csv-parse's.
import { CsvError, parse } from 'csv-parse/sync';
import type { CampaignContact } from './campaign-run.js';
import { isTimeZone } from './rules.js';

export const CONTACT_COLUMNS = ['customer_id', 'number', 'time_zone'] as const;
const E164 = /^\+[1-9][0-9]{6,14}$/;
const CUSTOMER_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Problems reported at most: a list wrong throughout says so in its first lines. */
const MAX_PROBLEMS = 20;

export interface ListProblem {
  /** 1-based line of the file (the header is line 1). */
  readonly line: number;
  readonly message: string;
}

export class ContactListError extends Error {
  constructor(readonly problems: readonly ListProblem[]) {
    super(
      `contact list refused: ${problems.map((p) => `line ${p.line}: ${p.message}`).join('; ')}`,
    );
    this.name = 'ContactListError';
  }
}

/** The list's contacts, in file order, or a ContactListError naming every bad line. */
export function parseContactCsv(text: string, opts: { maxContacts: number }): CampaignContact[] {
  let rows: { record: Record<string, string>; info: { lines: number } }[];
  try {
    rows = parse(text, {
      bom: true,
      columns: (header: string[]) => checkHeader(header.map((h) => h.trim())),
      info: true,
      skip_empty_lines: true,
      trim: true,
    }) as typeof rows;
  } catch (err) {
    if (err instanceof ContactListError) throw err;
    if (err instanceof CsvError)
      throw new ContactListError([{ line: Number(err.lines) || 1, message: err.message }]);
    throw err;
  }
  if (rows.length === 0) throw new ContactListError([{ line: 1, message: 'no contacts' }]);
  if (rows.length > opts.maxContacts)
    throw new ContactListError([
      { line: 1, message: `${rows.length} contacts; at most ${opts.maxContacts} per list` },
    ]);

  const problems: ListProblem[] = [];
  const customers = new Map<string, number>();
  const numbers = new Map<string, number>();
  const contacts: CampaignContact[] = [];
  for (const { record, info } of rows) {
    const line = info.lines;
    const customerId = record.customer_id ?? '';
    const number = record.number ?? '';
    const timeZone = record.time_zone ?? '';
    const bad = (message: string) => problems.push({ line, message });
    if (!CUSTOMER_ID.test(customerId))
      bad(`customer_id "${customerId.slice(0, 70)}" is not 1-64 letters, digits or . _ : -`);
    else if (customers.has(customerId))
      bad(`customer_id ${customerId} again (first on line ${customers.get(customerId)})`);
    else customers.set(customerId, line);
    // The number is never echoed back: only where it is wrong.
    if (!E164.test(number)) bad('number is not E.164 (+ and 7-15 digits, no spaces)');
    else if (numbers.has(number)) bad(`the number of line ${numbers.get(number)} again`);
    else numbers.set(number, line);
    if (!isTimeZone(timeZone))
      bad(`time_zone "${timeZone.slice(0, 70)}" is not an IANA zone such as Europe/London`);
    if (problems.length >= MAX_PROBLEMS) break;
    contacts.push({ contactId: customerId, customerId, number, timeZone });
  }
  if (problems.length > 0) throw new ContactListError(problems.slice(0, MAX_PROBLEMS));
  return contacts;
}

function checkHeader(header: string[]): string[] {
  const missing = CONTACT_COLUMNS.filter((c) => !header.includes(c));
  const unknown = header.filter((h) => !(CONTACT_COLUMNS as readonly string[]).includes(h));
  const twice = header.filter((h, i) => header.indexOf(h) !== i);
  const problems = [
    ...(missing.length ? [`missing column(s) ${missing.join(', ')}`] : []),
    ...(unknown.length ? [`unknown column(s) ${unknown.join(', ')}`] : []),
    ...(twice.length ? [`column(s) ${twice.join(', ')} twice`] : []),
  ];
  if (problems.length > 0)
    throw new ContactListError([
      { line: 1, message: `${problems.join('; ')} (expected ${CONTACT_COLUMNS.join(', ')})` },
    ]);
  return header;
}
