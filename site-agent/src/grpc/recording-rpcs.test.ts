// The recording RPCs over the real gRPC server with mutual TLS: who may pause whose call's
// recording, and the API (only) fetching a sealed recording decrypted, whole or a range.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Principal } from '@ccfed/common';
import { site } from '@ccfed/proto';
import { Status } from 'nice-grpc';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseRecordingKeys } from '../recording/recording-keys.js';
import { RecordingLibrary } from '../recording/recording-library.js';
import {
  RecordingControlError,
  type RecordingDesk,
  type RecordingView,
} from '../recording/recording-control.js';
import { newRecordingId, RecordingStore } from '../recording/recording-store.js';
import { sealFile } from '../recording/sealed-recording.js';
import { startGrpcServer } from './server.js';
import {
  channelAs,
  clientFactory,
  failure,
  OPERATOR,
  PHONES,
  SHANGHAI,
  SITE,
  SUPERVISOR,
  testSite,
  tlsAs,
} from './test-support.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const API: Principal = { kind: 'service', service: 'api' };
const AGENT: Principal = { kind: 'agent', site: 'shanghai', agent: 'sh-001' };
const ZENITH_SUPERVISOR: Principal = {
  kind: 'supervisor',
  site: 'shanghai',
  tenant: 'zenith-telecom',
};

/** sh-001 talks on call c1, which is recorded; sh-002 is on no call. */
class TestDesk implements RecordingDesk {
  readonly asked: string[] = [];
  private paused = false;
  recordingControl(agentId: string, op: 'pause' | 'resume', by: string): RecordingView {
    if (agentId !== 'sh-001')
      throw new RecordingControlError(`agent ${agentId} is not talking on a call`, 'not_on_call');
    this.asked.push(`${op} by ${by}`);
    this.paused = op === 'pause';
    return { callId: 'c1', recordingId: 'r1', state: this.paused ? 'paused' : 'recording' };
  }
}

let library: RecordingLibrary;
let recordingId: string;
const audio = randomBytes(200_000);

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ccfed-rpc-recordings-'));
  const ring = parseRecordingKeys(
    JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } }),
    'keys',
  );
  const store = new RecordingStore(dir);
  recordingId = newRecordingId(Date.now());
  const plain = join(store.workDir, 'x.wav');
  writeFileSync(plain, audio);
  const sealed = join(store.workDir, 'x.ccrec');
  const { keyId, key } = ring.sealingKey('acme-bank');
  const sizes = await sealFile({
    plainPath: plain,
    outPath: sealed,
    tenantKey: key,
    header: { recordingId, tenantId: 'acme-bank', keyId, contentType: 'audio/wav' },
  });
  await store.put(sealed, {
    recordingId,
    callId: 'c0',
    tenantId: 'acme-bank',
    skill: 'sales',
    agentId: 'sh-001',
    startedMs: Date.now(),
    durationMs: 6_250,
    bytes: sizes.plainBytes,
    sealedBytes: sizes.sealedBytes,
    contentType: 'audio/wav',
    paused: [],
    keyId,
    storagePath: store.storagePath('acme-bank', recordingId)!,
    expiresMs: Date.now() + 86_400_000,
  });
  library = new RecordingLibrary(store, ring);
});

async function serve(desk: RecordingDesk = new TestDesk()) {
  const s = testSite();
  const server = await startGrpcServer({
    host: '127.0.0.1',
    port: 0,
    desk: s.desk,
    status: undefined as never,
    site: SITE,
    phoneNetwork: PHONES,
    tls: await tlsAs(SHANGHAI),
    log: silentLogger(),
    recordings: { desk, library },
  });
  cleanup.push(() => server.close());
  return async (principal: Principal) => {
    const channel = await channelAs(server.port, principal);
    cleanup.push(() => channel.close());
    return {
      control: clientFactory.create(site.AgentControlDefinition, channel),
      siteAgent: clientFactory.create(site.SiteAgentDefinition, channel),
    };
  };
}

async function fetchAll(
  client: Awaited<ReturnType<Awaited<ReturnType<typeof serve>>>>['siteAgent'],
  req: Partial<site.FetchRecordingRequest>,
) {
  let info: site.RecordingInfo | undefined;
  const parts: Buffer[] = [];
  for await (const m of client.fetchRecording({
    recordingId,
    tenantId: 'acme-bank',
    offset: 0,
    length: 0,
    ...req,
  })) {
    if (m.part?.$case === 'info') info = m.part.value;
    if (m.part?.$case === 'audio') parts.push(Buffer.from(m.part.value));
  }
  return { info, audio: Buffer.concat(parts) };
}

describe('PauseRecording and ResumeRecording', () => {
  it('pause the agent’s own call, or any of the site’s agents’ for its supervisor', async () => {
    const desk = new TestDesk();
    const as = await serve(desk);
    const agent = (await as(AGENT)).control;
    expect(await agent.pauseRecording({ agentId: 'sh-001' })).toEqual({
      recording: {
        callId: 'c1',
        recordingId: 'r1',
        state: site.RecordingState.RECORDING_STATE_PAUSED,
      },
    });
    const supervisor = (await as(SUPERVISOR)).control;
    expect((await supervisor.resumeRecording({ agentId: 'sh-001' })).recording?.state).toBe(
      site.RecordingState.RECORDING_STATE_RECORDING,
    );
    expect(desk.asked).toEqual(['pause by agent:shanghai/sh-001', 'resume by supervisor:shanghai']);
  });

  it('refuses others, and an agent on no call', async () => {
    const as = await serve();
    const other: Principal = { kind: 'agent', site: 'shanghai', agent: 'sh-002' };
    for (const [who, agentId] of [
      [other, 'sh-001'],
      [OPERATOR, 'sh-001'],
      [API, 'sh-001'],
      [ZENITH_SUPERVISOR, 'sh-001'],
    ] as const)
      expect((await failure((await as(who)).control.pauseRecording({ agentId }))).code).toBe(
        Status.PERMISSION_DENIED,
      );
    expect(
      await failure((await as(SUPERVISOR)).control.pauseRecording({ agentId: 'sh-002' })),
    ).toEqual({
      code: Status.FAILED_PRECONDITION,
      details: 'agent sh-002 is not talking on a call',
    });
  });
});

describe('FetchRecording', () => {
  it('streams the API the decrypted recording, whole or a range', async () => {
    const api = (await (await serve())(API)).siteAgent;
    const whole = await fetchAll(api, {});
    expect(whole.info).toEqual({
      contentType: 'audio/wav',
      totalBytes: audio.length,
      offset: 0,
      length: audio.length,
      durationMs: 6_250,
    });
    expect(whole.audio.equals(audio)).toBe(true);
    const range = await fetchAll(api, { offset: 70_000, length: 1_000 });
    expect(range.info).toMatchObject({ offset: 70_000, length: 1_000 });
    expect(range.audio.equals(audio.subarray(70_000, 71_000))).toBe(true);
    // Past the end: the size, and nothing else.
    const past = await fetchAll(api, { offset: audio.length });
    expect(past.info).toMatchObject({ totalBytes: audio.length, length: 0 });
    expect(past.audio.length).toBe(0);
  });

  it('finds no recording of another tenant, nor one never stored', async () => {
    const api = (await (await serve())(API)).siteAgent;
    expect(await failure(fetchAll(api, { tenantId: 'zenith-telecom' }))).toMatchObject({
      code: Status.NOT_FOUND,
    });
    const missing = newRecordingId(Date.now());
    expect(await failure(fetchAll(api, { recordingId: missing }))).toEqual({
      code: Status.NOT_FOUND,
      details: `site shanghai has no recording ${missing} of tenant acme-bank (never stored here, or deleted)`,
    });
    expect((await failure(fetchAll(api, { recordingId: '../../etc/passwd' }))).code).toBe(
      Status.INVALID_ARGUMENT,
    );
  });

  it('refuses everyone but the API', async () => {
    const as = await serve();
    for (const who of [OPERATOR, SUPERVISOR, AGENT, SHANGHAI])
      expect((await failure(fetchAll((await as(who)).siteAgent, {}))).code).toBe(
        Status.PERMISSION_DENIED,
      );
  });
});
