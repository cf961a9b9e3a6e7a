// The recorded message a customer hears when the dialer called them and no agent was there within
// the connect deadline (customer-first): it names who called, the tenant's name from the topology,
// so that the call is not a silent one. Rendered with espeak-ng and sox as the queue prompts are
// (services/src/media/prompts.ts), once per tenant, into the site's data directory.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ESPEAK_BIN, SOX_BIN } from '@ccfed/services/media';
import type { Topology } from '@ccfed/topology';

const run = promisify(execFile);

/** What the customer hears; `caller` is the tenant's display name. */
export function dialerMessageText(caller: string): string {
  return (
    `Hello, this is ${caller} calling you. ` +
    'We are sorry, no one is free to speak with you right now. We will call you again. Goodbye.'
  );
}

/** Renders each tenant's message on first use and hands out the file rtpengine plays. */
export class DialerMessages {
  private readonly rendering = new Map<string, Promise<string>>();

  constructor(
    private readonly topology: Topology,
    private readonly dir: string,
  ) {}

  /** The message naming tenant `tenantId`; rejects for a tenant the topology does not have. */
  fileOf(tenantId: string): Promise<string> {
    let file = this.rendering.get(tenantId);
    if (!file) {
      file = this.render(tenantId);
      // a failed render is tried again next time
      file.catch(() => this.rendering.delete(tenantId));
      this.rendering.set(tenantId, file);
    }
    return file;
  }

  private async render(tenantId: string): Promise<string> {
    const tenant = this.topology.tenants.find((t) => t.id === tenantId);
    if (!tenant) throw new Error(`unknown tenant ${tenantId}`);
    const text = dialerMessageText(tenant.name);
    const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
    const file = join(this.dir, `${tenant.id}-${hash}.wav`);
    if (existsSync(file)) return file;
    mkdirSync(this.dir, { recursive: true });
    const raw = `${file}.espeak-${process.pid}.wav`;
    const staged = `${file}.sox-${process.pid}.wav`;
    try {
      // execFile: the tenant's name is one argument, never shell text
      await run(ESPEAK_BIN, ['-v', 'en-us', '-w', raw, text]);
      await run(SOX_BIN, [
        raw,
        '-r',
        '8000',
        '-c',
        '1',
        '-b',
        '16',
        '-e',
        'signed-integer',
        staged,
        'norm',
        '-3',
      ]);
      renameSync(staged, file);
    } finally {
      rmSync(raw, { force: true });
      rmSync(staged, { force: true });
    }
    return file;
  }
}
