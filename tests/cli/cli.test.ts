// The ccfed CLI as an operator runs it: a child process against two real sites (Kamailio + site
// agent each) on the shared test Kafka, with the federation's topology file and topic prefix.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { routing } from '@ccfed/proto';
import { Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName, waitFor } from '../support/engines.js';
import { kafkaAs, kafkaEnv } from '../support/kafka.js';
import { startFederation, type RunningFederation } from '../support/running-site.js';
import { certFor, OPERATOR, tlsEnv } from '../support/security.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const MAIN = join(ROOT, 'cli/src/main.ts');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe('ccfed against a running federation', () => {
  let fed: RunningFederation;
  let env: Record<string, string>;

  /** Starts `ccfed <args>`; `result` resolves when it exits. */
  function start(
    args: readonly string[],
    extraEnv: Record<string, string> = {},
    command: readonly string[] = ['--import', 'tsx', MAIN],
  ) {
    const child = spawn(process.execPath, [...command, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const result = new Promise<Run>((resolve) =>
      child.once('exit', (code) => resolve({ code, stdout, stderr })),
    );
    return { child, result, stdout: () => stdout, stderr: () => stderr };
  }
  const ccfed = (...args: string[]) => start(args).result;

  async function statusJson(): Promise<{ sites: Record<string, any>[] }> {
    const r = await ccfed('status', '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  }

  beforeAll(async () => {
    // Two sites in the topology, both running: guangzhou (and the restriction naming it) is cut.
    fed = await startFederation({
      siteIds: ['shanghai', 'beijing'],
      mutate: (doc) => {
        doc.sites = doc.sites.filter((s: { id: string }) => s.id !== 'guangzhou');
        doc.routing.tenantRestrictions = [];
      },
    });
    env = {
      CCFED_TOPOLOGY: fed.topologyFile,
      // The operators' Kafka user: it may read route-decisions, and nothing else.
      ...(await kafkaEnv({ role: 'operator' }, fed.prefix)),
      CCFED_TOPIC_PREFIX: fed.prefix,
      // The operator's certificate, as an SRE's environment gives it.
      ...(await tlsEnv(OPERATOR)),
    };
  });
  afterAll(async () => {
    await fed?.stop();
  });

  it('status: both sites reachable, Kamailio and Kafka connected, skills listed', async () => {
    const r = await ccfed('status');
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^SITE\s+REACHABLE\s+EVAPI\s+KAFKA\s+BUFFERED\s+DRAINED\s+SKILLS/);
    expect(rows.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ['shanghai', 'yes', 'up'],
      ['beijing', 'yes', 'up'],
    ]);
    for (const row of rows.slice(1)) expect(row).toMatch(/ no +sales \d+\/\d+\/\d+ \S+, support /);

    const json = await statusJson();
    expect(json.sites.map((s) => [s.site, s.reachable, s.evapiConnected, s.drained])).toEqual([
      ['shanghai', true, true, false],
      ['beijing', true, true, false],
    ]);
    expect(json.sites[0]!.skills.map((k: { skill: string }) => k.skill)).toEqual([
      'sales',
      'support',
      'complaints',
    ]);
  });

  it('drain and undrain a site: before/after printed, status shows the drain and its reason', async () => {
    const drain = await ccfed('drain', 'beijing', '--reason', 'switch maintenance');
    expect(drain.code, drain.stderr).toBe(0);
    expect(drain.stdout).toBe(
      'beijing: before: not drained\nbeijing: after:  drained (switch maintenance)\n',
    );

    const table = await ccfed('status');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^beijing\s+yes\s+up\s+\S+\s+\d+\s+yes: switch maintenance\s/m);
    expect(table.stdout).toMatch(/^shanghai\s+yes\s+up\s+\S+\s+\d+\s+no\s/m);
    const drained = await statusJson();
    expect(drained.sites[1]).toMatchObject({
      site: 'beijing',
      drained: true,
      drainReason: 'switch maintenance',
      acceptingOverflow: false,
    });

    const undrain = await ccfed('undrain', 'beijing');
    expect(undrain.code, undrain.stderr).toBe(0);
    expect(undrain.stdout).toBe(
      'beijing: before: drained (switch maintenance)\nbeijing: after:  not drained\n',
    );
    expect((await statusJson()).sites[1]).toMatchObject({ site: 'beijing', drained: false });
  });

  it("drain with a supervisor's certificate (given by flags) is refused by the site: exit 1, nothing changed", async () => {
    const supervisor = await certFor({ kind: 'supervisor', site: 'beijing' });
    const flags = ['--tls-cert', supervisor.cert, '--tls-key', supervisor.key];
    // A supervisor may read the status...
    const status = await ccfed('status', ...flags);
    expect(status.code).toBe(1); // ...of their own site only: shanghai refuses them
    expect(status.stdout).toMatch(/^beijing\s+yes\s+up\s/m);
    expect(status.stdout).toMatch(
      /^shanghai\s+unreachable\s.*PERMISSION_DENIED: supervisor:beijing may not call GetStatus at site shanghai/m,
    );

    const drain = await ccfed('drain', 'beijing', '--reason', 'mine now', ...flags);
    expect(drain.code).toBe(1);
    expect(drain.stderr).toContain(
      'refused SetDraining: PERMISSION_DENIED: supervisor:beijing may not call SetDraining at site beijing: only operators drain a site; nothing was changed',
    );
    expect((await statusJson()).sites[1]).toMatchObject({ site: 'beijing', drained: false });
  });

  it('decisions: prints the decisions on the topic, skips what is not one, filters by site, follows new ones', async () => {
    // The decisions come from where the router's would: Kafka user router.
    const kafka = await kafkaAs({ role: 'router' }, fed.prefix, 'cli-test');
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const publish = (d: routing.RouteDecision) =>
      producer.send({
        topic: fed.topics.routeDecisions,
        messages: [
          { key: d.request!.callId, value: Buffer.from(routing.RouteDecision.encode(d).finish()) },
        ],
      });
    const overflowCall = uniqueName('call');
    const stayCall = uniqueName('call');
    const followCall = uniqueName('call');
    try {
      await producer.send({
        topic: fed.topics.routeDecisions,
        messages: [{ key: 'garbage', value: Buffer.from('not a protobuf message') }],
      });
      await publish(decision(overflowCall, 'overflow'));
      await publish(decision(stayCall, 'stay'));

      const all = await ccfed('decisions', '--since', '5m');
      expect(all.code, all.stderr).toBe(0);
      expect(all.stdout).toContain(
        `  ${overflowCall}  shanghai → overflow beijing  "beijing expects 12.0 s against 95.0 s at shanghai"  alternatives: beijing 12s`,
      );
      expect(all.stdout).toContain(`  ${stayCall}  shanghai → stay  "best site beijing`);
      expect(all.stdout.trimEnd().split('\n')).toHaveLength(2);
      expect(all.stderr).toMatch(
        /skipped an undecodable message \(partition \d+ offset \d+\): cant skip wire type/,
      );
      expect(all.stderr).toContain('2 decisions (3 read)');

      const beijing = await ccfed('decisions', '--site', 'beijing', '--json');
      expect(beijing.code, beijing.stderr).toBe(0);
      const lines = beijing.stdout.trimEnd().split('\n');
      expect(lines.map((l) => JSON.parse(l).request.callId)).toEqual([overflowCall]);
      expect(JSON.parse(lines[0]!).response).toMatchObject({
        verdict: 'VERDICT_OVERFLOW',
        targetSiteId: 'beijing',
      });

      const follow = start(['decisions', '--follow', '--since', '1s']);
      await waitFor('ccfed decisions --follow waiting', async () =>
        follow.stderr().includes('waiting for decisions') ? true : undefined,
      );
      await publish(decision(followCall, 'overflow'));
      await waitFor(
        'the followed decision',
        async () => (follow.stdout().includes(followCall) ? true : undefined),
        20_000,
      );
      follow.child.kill('SIGINT');
      expect((await follow.result).code).toBe(0);
    } finally {
      await producer.disconnect();
    }
  });

  it('validate through the bin; bad input refused with exit 2 saying what was wrong', async () => {
    const bad = join(inject('runDir'), `${uniqueName('bad-topology')}.yaml`);
    writeFileSync(
      bad,
      'federation: { name: x, hqSite: shanghai }\ndefaultSkill: sales\ntenants: []\nskills: []\nsites: []\n',
    );
    const [unknownSite, invalid, noReason, unknownCommand, valid] = await Promise.all([
      ccfed('drain', 'wuhan', '--reason', 'x'),
      ccfed('validate', bad),
      ccfed('drain', 'beijing'),
      ccfed('restart-everything'),
      // Through the installed bin's shim, as `npx ccfed` runs it.
      start(['validate', fed.topologyFile], {}, [join(ROOT, 'cli/bin/ccfed.js')]).result,
    ]);
    expect(valid.code, valid.stderr).toBe(0);
    expect(valid.stdout).toContain(`${fed.topologyFile}: valid`);
    expect(valid.stdout).toMatch(/^2 sites, 16 agents, 8 numbers, 2 tenants/m);
    expect(unknownSite.code).toBe(2);
    expect(unknownSite.stderr).toContain(
      `unknown site "wuhan": ${fed.topologyFile} has shanghai, beijing`,
    );
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain(`${bad}: tenants: expected at least one tenant`);
    expect(invalid.stderr).toContain(`${bad}: routing: required field is missing`);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('drain needs --reason');
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain('unknown command "restart-everything"');
    expect(unknownCommand.stderr).toContain('usage: ccfed <command>');
    // Nothing was drained by the refused request.
    expect((await statusJson()).sites[1]).toMatchObject({ site: 'beijing', drained: false });
  });

  it('status exits 1 when a site is not running, and its row says unreachable and why', async () => {
    await fed.sites.get('beijing')!.stop();
    const r = await ccfed('status');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^shanghai\s+yes\s+up\s/m);
    expect(r.stdout).toMatch(
      new RegExp(
        `^beijing\\s+unreachable\\s.*${fed.sites.get('beijing')!.site.grpc.port}: UNAVAILABLE`,
        'm',
      ),
    );
    expect(r.stderr).toContain('unreachable: beijing');

    const drain = await ccfed('drain', 'beijing', '--reason', 'x');
    expect(drain.code).toBe(1);
    expect(drain.stderr).toContain('GetStatus at site beijing');
    expect(drain.stderr).toContain('failed: UNAVAILABLE');
    expect(drain.stderr).toContain('nothing was changed');
  });

  it('decisions: a topic prefix with no topics is an operational failure, said plainly', async () => {
    const r = await start(['decisions'], { CCFED_TOPIC_PREFIX: uniqueName('nothing') }).result;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/topic nothing_\S+\.route-decisions does not exist/);
  });

  it("kamailio-config: writes the site's config and kamailio -c accepts it", async () => {
    const out = join(inject('runDir'), `${uniqueName('kamailio')}.cfg`);
    const r = await ccfed('kamailio-config', 'beijing', '--check', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('ok: kamailio -c accepts the config of site beijing');
    const port = fed.topology.sites.find((s) => s.id === 'beijing')!.sip.port;
    expect(readFileSync(out, 'utf8')).toContain(`#!substdef "!SIP_PORT!${port}!g"`);
  });
});

/** A decision as the router publishes it: an overflow to beijing, or a stay at shanghai. */
function decision(callId: string, verdict: 'overflow' | 'stay'): routing.RouteDecision {
  const alternatives = [{ siteId: 'beijing', eligible: true, expectedWaitMs: 12_000 }];
  return routing.RouteDecision.fromPartial({
    meta: { eventId: uniqueName('e'), siteId: 'router', eventTime: new Date() },
    request: { callId, originSiteId: 'shanghai', tenantId: 'acme-bank', skill: 'support' },
    response:
      verdict === 'overflow'
        ? {
            decisionId: uniqueName('d'),
            verdict: routing.Verdict.VERDICT_OVERFLOW,
            targetSiteId: 'beijing',
            reason: 'beijing expects 12.0 s against 95.0 s at shanghai',
            alternatives,
          }
        : {
            decisionId: uniqueName('d'),
            verdict: routing.Verdict.VERDICT_STAY,
            reason: 'best site beijing (12.0 s) is not 30.0 s better than staying (20.0 s)',
            alternatives,
          },
  });
}
