// An uploaded contact list (CSV) checked before it becomes a campaign's: every row a customer
// id, an E.164 number and an IANA time zone, no customer or number twice. A list with any bad row
// is refused whole, with each problem's line number, so that nothing is half-imported. CSV syntax
// (quotes, line ends, a byte-order mark) is csv-parse's.
//
// A list of 100,000 rows takes seconds to read, on the site agent's one event loop, which also
// runs the ACD and the Kamailio bridge: the text goes to csv-parse a slice at a time and the rows
// are checked a batch at a time, with a turn of the event loop between, so calls keep moving.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CsvError, parse } from 'csv-parse';
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

/** Characters given to csv-parse, and rows checked, between two turns of the event loop. */
export const SLICE_CHARS = 8 * 1024;
const BATCH_ROWS = 500;

type Row = { record: Record<string, string>; info: { lines: number } };

/** The list's contacts, in file order, or a ContactListError naming every bad line. */
export async function parseContactCsv(
  text: string,
  opts: { maxContacts: number },
): Promise<CampaignContact[]> {
  let rows: Row[];
  try {
    rows = await readRows(text);
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
  for (const [i, { record, info }] of rows.entries()) {
    if (i > 0 && i % BATCH_ROWS === 0) await nextTurn();
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

/** csv-parse's records, fed a slice of the text per turn of the event loop. */
async function readRows(text: string): Promise<Row[]> {
  const parser = parse({
    bom: true,
    columns: (header: string[]) => checkHeader(header.map((h) => h.trim())),
    info: true,
    skip_empty_lines: true,
    trim: true,
  });
  const rows: Row[] = [];
  let failed: unknown;
  parser.on('readable', () => {
    for (let r: Row | null; (r = parser.read() as Row | null) !== null;) rows.push(r);
  });
  parser.on('error', (err) => (failed ??= err));
  const ended = new Promise<void>((resolve) => parser.once('close', resolve));
  for (let at = 0; at < text.length && failed === undefined;) {
    let end = Math.min(at + SLICE_CHARS, text.length);
    // Never between the two halves of a surrogate pair (a character beyond U+FFFF).
    if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1]!)) end++;
    parser.write(text.slice(at, end));
    at = end;
    await nextTurn();
  }
  if (failed === undefined) parser.end();
  else parser.destroy();
  await ended;
  if (failed !== undefined) throw failed;
  return rows;
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
