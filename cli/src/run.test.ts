// The paths that end before any network call: usage, bad input, the topology checks.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPki } from '@ccfed/services';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from './run.js';
import { LOCAL_PKI, tlsFiles } from './tls.js';
import { EXAMPLE_TOPOLOGY } from './topology.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

/** A TCP port that accepts connections and never says a word: a hung site agent. */
async function silentPort(): Promise<number> {
  const server = createServer((socket) => void sockets.push(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function ccfed(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, {
    env: { CCFED_TOPOLOGY: EXAMPLE_TOPOLOGY, ...env },
    io: { out: (t) => void out.push(t), err: (t) => void err.push(t) },
    signal: new AbortController().signal,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('ccfed', () => {
  it('prints the command list on --help (exit 0) and without a command (exit 2)', async () => {
    const help = await ccfed(['--help']);
    expect(help).toMatchObject({ code: 0, err: '' });
    expect(help.out).toMatch(/^usage: ccfed <command>/);
    for (const name of [
      'status',
      'drain',
      'undrain',
      'validate',
      'kamailio-config',
      'decisions',
      'derived',
    ])
      expect(help.out).toContain(`  ${name} `);
    expect(await ccfed([])).toMatchObject({ code: 2, out: '' });
  });

  it('refuses an unknown command with the usage', async () => {
    const r = await ccfed(['stauts']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^ccfed: unknown command "stauts"\n\nusage: ccfed <command>/);
  });

  it('gives each command its --help, also as ccfed help <command>', async () => {
    const r = await ccfed(['status', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: ccfed status \[--json\]/);
    expect(r.out).toContain('1 when any site is unreachable');
    expect(await ccfed(['help', 'status'])).toEqual(r);
    expect((await ccfed(['help', 'nonsense'])).code).toBe(2);
  });

  it('refuses an unknown option with the command usage', async () => {
    const r = await ccfed(['status', '--jsn']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^ccfed status: Unknown option '--jsn'/);
    expect(r.err).toContain('usage: ccfed status');
  });

  it('refuses drain without a reason, and an unknown site naming the known ones', async () => {
    const noReason = await ccfed(['drain', 'beijing']);
    expect(noReason.code).toBe(2);
    expect(noReason.err).toContain('drain needs --reason');
    const unknown = await ccfed(['undrain', 'wuhan']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe(
      `ccfed undrain: unknown site "wuhan": ${EXAMPLE_TOPOLOGY} has shanghai, beijing, guangzhou`,
    );
    const tooLong = await ccfed(['drain', 'beijing', '--reason', 'x'.repeat(201)]);
    expect(tooLong).toMatchObject({ code: 2 });
    expect(tooLong.err).toContain('--reason is 201 characters long; at most 200 allowed');
  });

  it('validates a topology file: a summary, or the file and path of each problem', async () => {
    const ok = await ccfed(['validate', EXAMPLE_TOPOLOGY]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('3 sites, 22 agents, 12 numbers, 2 tenants');

    const file = join(mkdtempSync(join(tmpdir(), 'ccfed-cli-')), 'bad.yaml');
    writeFileSync(file, 'federation: {name: x, hqSite: hq}\n');
    const bad = await ccfed(['validate', file]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`invalid topology file ${file}`);
    expect(bad.err).toContain(`${file}: defaultSkill: required field is missing`);
  });

  it('prints a site’s kamailio.cfg and refuses an unknown site', async () => {
    const r = await ccfed(['kamailio-config', 'beijing']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^#!KAMAILIO\n# Site beijing/);
    expect(r.out).toContain('#!substdef "!SIP_PORT!5070!g"');
    expect((await ccfed(['kamailio-config', 'wuhan'])).code).toBe(2);
  });

  it('refuses derived without an action, a login or a table for --partition, before any I/O', async () => {
    const login = {
      CCFED_CLICKHOUSE_URL: 'http://127.0.0.1:1',
      CCFED_CLICKHOUSE_USER: 'ccfed_admin',
      CCFED_CLICKHOUSE_PASSWORD: 'x',
    };
    const none = await ccfed(['derived']);
    expect(none.code).toBe(2);
    expect(none.err).toContain('missing <check|repair>');
    const other = await ccfed(['derived', 'fix'], login);
    expect(other.code).toBe(2);
    expect(other.err).toContain('expected check or repair, not "fix"');
    const partition = await ccfed(['derived', 'repair', '--partition', '202611'], login);
    expect(partition.code).toBe(2);
    expect(partition.err).toContain('--partition needs --table');
    const noLogin = await ccfed(['derived', 'check'], {
      CCFED_CLICKHOUSE_URL: login.CCFED_CLICKHOUSE_URL,
    });
    expect(noLogin.code).toBe(2);
    expect(noLogin.err).toContain('CCFED_CLICKHOUSE_USER: required');
    // A server that does not answer is not bad input: exit 1, naming it.
    const down = await ccfed(['derived', 'check'], login);
    expect(down.code).toBe(1);
    expect(down.err).toContain('ccfed derived: http://127.0.0.1:1: ');
  });

  it('refuses decisions without brokers, credentials or CA, with a bad --since or an unknown --site', async () => {
    const noBrokers = await ccfed(['decisions']);
    expect(noBrokers.code).toBe(2);
    expect(noBrokers.err).toContain('set CCFED_KAFKA_BROKERS or --brokers');
    const env = { CCFED_KAFKA_BROKERS: '127.0.0.1:1' };
    const since = await ccfed(['decisions', '--since', 'yesterday'], env);
    expect(since.code).toBe(2);
    expect(since.err).toContain('--since: "yesterday" is not a duration');
    const site = await ccfed(['decisions', '--site', 'wuhan'], env);
    expect(site.code).toBe(2);
    expect(site.err).toContain('unknown site "wuhan"');
    // Kafka takes only a user over TLS: no password or no CA is bad input, said before any I/O.
    const noPassword = await ccfed(['decisions'], env);
    expect(noPassword.code).toBe(2);
    expect(noPassword.err).toContain(
      "Kafka credentials: CCFED_KAFKA_PASSWORD: required: the Kafka user's SCRAM password; CCFED_TLS_CA: required",
    );
    const noCa = await ccfed(['decisions'], {
      ...env,
      CCFED_KAFKA_PASSWORD: 'x'.repeat(24),
      CCFED_TLS_CA: '/nonexistent/ca.crt',
    });
    expect(noCa.code).toBe(2);
    expect(noCa.err).toContain('cannot read the CA certificate /nonexistent/ca.crt');
  });

  it('status asks every site at once and gives up on a hung one after 2 s', async () => {
    let yaml = readFileSync(EXAMPLE_TOPOLOGY, 'utf8');
    for (const port of [50061, 50062, 50063]) {
      yaml = yaml.replace(`port: ${port} }`, `port: ${await silentPort()} }`);
    }
    const file = join(mkdtempSync(join(tmpdir(), 'ccfed-cli-')), 'hung.yaml');
    writeFileSync(file, yaml);
    const pki = await openPki(mkdtempSync(join(tmpdir(), 'ccfed-cli-pki-')));
    const mine = await pki.issue({ kind: 'operator', name: 'li' });
    const started = Date.now();
    const r = await ccfed(['status', '--topology', file], {
      CCFED_TLS_CA: mine.ca,
      CCFED_TLS_CERT: mine.cert,
      CCFED_TLS_KEY: mine.key,
    });
    const elapsed = Date.now() - started;
    expect(r.code).toBe(1);
    expect(r.out.split('\n').slice(1)).toEqual(
      ['shanghai', 'beijing', 'guangzhou'].map((site) =>
        expect.stringMatching(new RegExp(`^${site} +unreachable .*: no answer within 2s$`)),
      ),
    );
    expect(r.err).toBe('unreachable: shanghai, beijing, guangzhou');
    // In parallel: one deadline, not three in a row.
    expect(elapsed).toBeGreaterThanOrEqual(1_900);
    expect(elapsed).toBeLessThan(4_000);
  });

  it('refuses to call a site without a usable certificate, saying how to give one', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'ccfed-cli-')), 'nobody.crt');
    for (const argv of [
      ['status', '--tls-cert', missing],
      ['drain', 'beijing', '--reason', 'x', '--tls-cert', missing],
    ]) {
      const r = await ccfed(argv);
      expect(r.code, argv[0]).toBe(2);
      expect(r.err).toMatch(new RegExp(`: no such file: ${missing}(, |\n)`));
      expect(r.err).toContain('give --tls-cert, --tls-key and --tls-ca');
    }
  });
});

describe('tlsFiles', () => {
  it('takes each file from its flag, else its variable, else the local federation', () => {
    const env = { CCFED_TLS_CERT: '/etc/ccfed/li.crt', CCFED_TLS_KEY: '/etc/ccfed/li.key' };
    expect(tlsFiles({ 'tls-key': '/tmp/other.key' }, env)).toEqual({
      cert: '/etc/ccfed/li.crt',
      key: '/tmp/other.key',
      ca: join(LOCAL_PKI, 'ca.crt'),
    });
    expect(tlsFiles({}, {})).toEqual({
      cert: join(LOCAL_PKI, 'operator', 'local.crt'),
      key: join(LOCAL_PKI, 'operator', 'local.key'),
      ca: join(LOCAL_PKI, 'ca.crt'),
    });
    expect(LOCAL_PKI).toMatch(/\/\.ccfed\/local\/pki$/);
  });
});
