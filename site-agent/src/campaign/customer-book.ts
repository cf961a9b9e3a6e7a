// What the site holds of its tenants' customers to call them: per tenant, each customer's number
// and time zone, as the tenant's CRM exports them to the site that calls them (the customer
// directory holds callers only as hashes, and HQ holds no numbers at all). A campaign from the
// churn call-back list or the survey sample arrives as customer ids; the site resolves each here.
// A customer the site holds no number for is unresolvable: counted, never dialed. Numbers stay
// at the site: they are never logged, never put in events, never sent back.
//
// The export is one CSV per tenant, `<dir>/<tenant>.csv`, with the contact list's columns
// (customer_id, number, time_zone; contact-list.ts checks it), read afresh at each campaign's
// creation so a newer export counts at once.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CampaignContact } from './campaign-run.js';
import { ContactListError, parseContactCsv } from './contact-list.js';

/** A customer's number (E.164) and IANA time zone. */
export interface CustomerReach {
  readonly number: string;
  readonly timeZone: string;
}

const CUSTOMER_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** The most customers one tenant's export may hold. */
const MAX_BOOK_CONTACTS = 2_000_000;

/** The tenant's export is there but not readable as a contact list: no campaign from it. */
export class CustomerBookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CustomerBookError';
  }
}

/** The ids a list sent from HQ names were malformed or repeated. */
export class CustomerIdsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CustomerIdsError';
  }
}

/** The site's CRM exports, one file per tenant under `dir`. */
export class CustomerBook {
  constructor(private readonly dir: string) {}

  /**
   * The tenant's customers by id; empty when the site holds no export for the tenant. A damaged
   * export throws CustomerBookError naming its lines (never its numbers).
   */
  async of(tenantId: string): Promise<ReadonlyMap<string, CustomerReach>> {
    if (!TENANT_ID.test(tenantId)) throw new RangeError(`tenant id ${JSON.stringify(tenantId)}`);
    let text: string;
    try {
      text = await readFile(join(this.dir, `${tenantId}.csv`), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw err;
    }
    try {
      const contacts = await parseContactCsv(text, { maxContacts: MAX_BOOK_CONTACTS });
      return new Map(
        contacts.map((c) => [c.contactId, { number: c.number, timeZone: c.timeZone }]),
      );
    } catch (err) {
      if (err instanceof ContactListError)
        throw new CustomerBookError(
          `this site's CRM contacts of ${tenantId} are damaged (${err.problems
            .slice(0, 3)
            .map((p) => `line ${p.line}: ${p.message}`)
            .join('; ')})`,
        );
      throw err;
    }
  }
}

/**
 * The list's customers the book can reach, in list order, as contacts named by customer id, and
 * the ids it cannot (no number or zone held). Throws CustomerIdsError on a malformed or repeated
 * id, so a list is taken whole or not at all.
 */
export function resolveContacts(
  customerIds: readonly string[],
  book: ReadonlyMap<string, CustomerReach>,
): { contacts: CampaignContact[]; unresolvable: string[] } {
  const seen = new Set<string>();
  const contacts: CampaignContact[] = [];
  const unresolvable: string[] = [];
  customerIds.forEach((id, i) => {
    if (!CUSTOMER_ID.test(id))
      throw new CustomerIdsError(
        `customer id ${i + 1} is not 1-64 letters, digits or . _ : - (${JSON.stringify(id.slice(0, 70))})`,
      );
    if (seen.has(id)) throw new CustomerIdsError(`customer ${id} is on the list twice`);
    seen.add(id);
    const reach = book.get(id);
    if (reach === undefined) unresolvable.push(id);
    else contacts.push({ contactId: id, customerId: id, ...reach });
  });
  return { contacts, unresolvable };
}
