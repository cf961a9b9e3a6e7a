// Feasibility of the queue experience on real engines: a baresip caller dials a minimal Kamailio
// (tests/media/early-media-kamailio.ts, not ccfed.cfg) that anchors the call at rtpengine and
// answers with early media; the test, standing in for the site agent over evapi, plays ringback
// and a rendered announcement to the queued caller, sees the digit the caller presses, then
// relays the call to a baresip agent phone that answers with a tone. The caller must hear the
// ringback and the announcement, then the agent's tone, the agent the caller's tone, and the
// hang-up must delete rtpengine's session. Further cases: a CANCEL while queued, re-INVITEs from
// both sides, and the early answer made by Kamailio itself (docs/media.md, variant B).
import { join } from 'node:path';
import {
  assemblePrompt,
  NgCommandError,
  queueAnnouncement,
  renderPrompts,
  TONES,
} from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dominantFrequency, durationS, findPrompt, soundSpansOf } from '../support/audio.js';
import { uniqueName, waitFor } from '../support/engines.js';
import {
  BLACK_HOLE_SDP,
  FAR_END_TAG,
  KAMAILIO_EARLY_ANSWER_PREFIX,
} from './early-media-kamailio.js';
import {
  AGENT_HZ,
  CALLER_HZ,
  localAddressOf,
  mediaAddress,
  startMediaSite,
  type MediaSite,
} from './media-site.js';

const PROMPTS_DIR = new URL('../../.ccfed/prompts', import.meta.url).pathname;

describe('early media through Kamailio and rtpengine, with baresip phones', () => {
  const dir = join(inject('runDir'), uniqueName('early-media'));
  let site: MediaSite;
  let prompt: string;
  let otherPrompt: string;
  let ringback: string;

  beforeAll(async () => {
    site = await startMediaSite(dir);
    // The install step's prompts (rendered here if this checkout has not run it).
    const prompts = (await renderPrompts(PROMPTS_DIR)).manifest;
    ringback = prompts.files['tones/ringback-cn']!;
    const announcement = queueAnnouncement({ language: 'en', position: 2, expectedWaitS: 170 });
    expect(announcement.text).toBe(
      'You are number 2 in the queue. Your expected wait is about 3 minutes. Thank you for waiting.',
    );
    prompt = await assemblePrompt(PROMPTS_DIR, announcement.pieces);
    // Never played: what a wrong prompt (the same announcement in Mandarin) scores.
    otherPrompt = await assemblePrompt(
      PROMPTS_DIR,
      queueAnnouncement({ language: 'zh', position: 2, expectedWaitS: 170 }).pieces,
    );
  });

  afterAll(async () => {
    await site?.stop();
  });

  it('plays a prompt as early media, reports a queued digit, then connects the agent both ways and deletes the session on BYE', async () => {
    const { rtpengine, app, caller, agent, dtmf, sipPort } = site;
    const t0 = Date.now();
    await caller.dial(`sip:4001@127.0.0.1:${sipPort}`);
    const invite = await app.next('invite');
    const callId = String(invite.callid);
    const fromTag = String(invite.fromTag);
    // Kamailio has sent rtpengine the caller's offer ($rb is the body as received).
    const callerAddress = mediaAddress(invite.sdp);

    // The site agent answers rtpengine for the far end that does not exist yet (the black
    // hole), under FAR_END_TAG, and gets the SDP for the caller: rtpengine's caller-facing port.
    const early = await rtpengine.client.answer({
      callId,
      fromTag,
      toTag: FAR_END_TAG,
      sdp: BLACK_HOLE_SDP,
    });
    const earlyAddress = mediaAddress(early.sdp);
    expect(Number(earlyAddress.split(':')[1])).toBeGreaterThanOrEqual(rtpengine.rtpPorts.min);
    expect(earlyAddress).not.toBe(callerAddress);
    expect(await localAddressOf(rtpengine, callId, fromTag)).toBe(earlyAddress);
    // The far end's port, from the offer: what the relayed INVITE will tell the agent.
    const farEndAddress = await localAddressOf(rtpengine, callId, FAR_END_TAG);

    // 183 Session Progress with that SDP: the caller starts early media.
    app.send({
      action: 'provisional',
      callid: callId,
      cseq: invite.cseq,
      code: 183,
      toTag: FAR_END_TAG,
      sdp: early.sdp,
    });
    expect((await app.next('result')).ok).toBe(1);
    const progress = await caller.waitForEvent('CALL_PROGRESS', { since: t0 });

    // Ringback first: one period of China's cadence (450 Hz, 1 s on, 4 s off), then the
    // announcement once the ringback has played out, as a queue would.
    app.send({ action: 'play', callid: callId, fromTag, earlyTag: FAR_END_TAG, file: ringback });
    const ring = await app.next('result');
    expect(ring.ok).toBe(1);
    const cadence = TONES['tones/ringback-cn'];
    expect(Number(ring.mediaMs)).toBe((cadence.onS + cadence.offS) * 1000);
    const ringStarted = Date.now();
    await waitFor(
      'ringback played out',
      async () => (Date.now() - ringStarted > Number(ring.mediaMs) ? true : undefined),
      15_000,
    );
    const played = Date.now();
    app.send({ action: 'play', callid: callId, fromTag, earlyTag: FAR_END_TAG, file: prompt });
    const play = await app.next('result');
    expect(play.ok).toBe(1);
    const promptS = await durationS(prompt);
    expect(Number(play.mediaMs)).toBeGreaterThan(promptS * 1000 - 100);

    // The caller presses 1 while queued; rtpengine reports it to the DTMF listener.
    await caller.sendDigit('1');
    const digit = await waitFor('DTMF event', async () => dtmf.find((d) => d.callId === callId));
    expect(digit).toMatchObject({ digit: '1', sourceTag: fromTag });

    // Stay queued until the prompt has played out, then relay to the agent.
    await waitFor('prompt played out', async () =>
      Date.now() - played > promptS * 1000 + 1000 ? true : undefined,
    );
    app.send({ action: 'relay', tindex: invite.tindex, tlabel: invite.tlabel, uri: agent.uri });
    const answered = await app.next('answered');
    // rtpengine still knows two parties, the caller and the far end, now the agent: the caller
    // sends to the port the 183 gave it, the agent to the one the relayed INVITE gave it.
    expect([...(await rtpengine.client.query({ callId })).tags].sort()).toEqual(
      [FAR_END_TAG, fromTag].sort(),
    );
    expect(answered.toTag).not.toBe(FAR_END_TAG);
    expect(await localAddressOf(rtpengine, callId, fromTag)).toBe(earlyAddress);
    expect(await localAddressOf(rtpengine, callId, FAR_END_TAG)).toBe(farEndAddress);
    const established = await caller.waitForEvent('CALL_ESTABLISHED', { since: t0 });
    await agent.waitForEvent('CALL_ESTABLISHED', { since: t0 });

    await waitFor('three seconds of conversation', async () =>
      Date.now() - established.at > 3000 ? true : undefined,
    );
    await caller.hangup();
    const deleted = await app.next('deleted');
    expect(deleted).toMatchObject({ method: 'BYE', callid: callId });
    await expect(rtpengine.client.query({ callId })).rejects.toThrow(NgCommandError);
    await agent.waitForEvent('CALL_CLOSED', { since: t0 });

    // What the caller heard: the prompt (as a whole, matched against the rendered file), then
    // the agent's tone.
    // One audio stream from the 183 to the hang-up (the agent's 180 without SDP was absorbed,
    // or baresip would have restarted it): the prompt first, the agent's tone at the end.
    const heard = caller.recordings().heard;
    expect(heard).toHaveLength(1);
    const ringHz = await dominantFrequency(heard[0]!, { startS: 0.2, durationS: 0.6 });
    expect(Math.abs(ringHz - 450) / 450).toBeLessThan(0.05);
    const ringSpans = await soundSpansOf(heard[0]!, { durationS: 4.5, bridgeMs: 100 });
    expect(ringSpans).toHaveLength(1);
    expect(ringSpans[0]!.endS - ringSpans[0]!.startS).toBeGreaterThan(0.8);
    expect(ringSpans[0]!.endS - ringSpans[0]!.startS).toBeLessThan(1.2);
    const match = await findPrompt(heard[0]!, prompt);
    expect(match.correlation).toBeGreaterThan(0.8);
    // After the ringback's period, not at the start.
    expect(match.offsetS).toBeGreaterThan(4.5);
    expect((await findPrompt(heard[0]!, otherPrompt)).correlation).toBeLessThan(0.5);
    expect(match.offsetS).toBeLessThan((established.at - progress.at) / 1000 - promptS + 0.5);
    const answeredHeard = heard[0]!;
    const total = await durationS(answeredHeard);
    const callerHz = await dominantFrequency(answeredHeard, { startS: total - 2.5, durationS: 2 });
    expect(Math.abs(callerHz - AGENT_HZ) / AGENT_HZ).toBeLessThan(0.05);
    // What the agent heard: the caller's tone.
    const agentHeard = agent.recordings().heard.at(-1)!;
    const agentHz = await dominantFrequency(agentHeard, {
      startS: 0.5,
      durationS: Math.min(2, (await durationS(agentHeard)) - 0.5),
    });
    expect(Math.abs(agentHz - CALLER_HZ) / CALLER_HZ).toBeLessThan(0.05);
  });

  /** Queues a call: INVITE seen, rtpengine answered for the black hole, 183 sent. */
  async function queueCall(number: string) {
    const { rtpengine, app, caller, sipPort } = site;
    const t0 = Date.now();
    await caller.dial(`sip:${number}@127.0.0.1:${sipPort}`);
    const invite = await app.next('invite');
    const callId = String(invite.callid);
    const fromTag = String(invite.fromTag);
    const early = await rtpengine.client.answer({
      callId,
      fromTag,
      toTag: FAR_END_TAG,
      sdp: BLACK_HOLE_SDP,
    });
    app.send({
      action: 'provisional',
      callid: callId,
      cseq: invite.cseq,
      code: 183,
      toTag: FAR_END_TAG,
      sdp: early.sdp,
    });
    expect((await app.next('result')).ok).toBe(1);
    await caller.waitForEvent('CALL_PROGRESS', { since: t0 });
    return { t0, invite, callId, fromTag, callerAddress: mediaAddress(early.sdp) };
  }

  it('deletes the session when the caller gives up while queued (CANCEL)', async () => {
    const { rtpengine, app, caller } = site;
    const { callId, fromTag } = await queueCall('4003');
    app.send({ action: 'play', callid: callId, fromTag, earlyTag: FAR_END_TAG, file: ringback });
    expect((await app.next('result')).ok).toBe(1);
    await caller.hangup();
    expect(await app.next('deleted')).toMatchObject({ method: 'CANCEL', callid: callId });
    await expect(rtpengine.client.query({ callId })).rejects.toThrow(NgCommandError);
  });

  it('keeps both ports and audio both ways through re-INVITEs from the agent and from the caller', async () => {
    const { rtpengine, app, caller, agent } = site;
    const { t0, invite, callId, fromTag, callerAddress } = await queueCall('4004');
    const farEndAddress = await localAddressOf(rtpengine, callId, FAR_END_TAG);
    app.send({ action: 'relay', tindex: invite.tindex, tlabel: invite.tlabel, uri: agent.uri });
    await app.next('answered');
    await caller.waitForEvent('CALL_ESTABLISHED', { since: t0 });
    await agent.waitForEvent('CALL_ESTABLISHED', { since: t0 });

    await agent.reinvite();
    expect(await app.next('reoffer')).toMatchObject({ direction: 'agent', callid: callId });
    await caller.reinvite();
    expect(await app.next('reoffer')).toMatchObject({ direction: 'caller', callid: callId });
    // Mapped to the far-end tag both ways: still two parties, still the same two ports. A
    // re-offer under the agent's SIP tag would have made rtpengine a third party.
    await waitFor('re-offers answered', async () => {
      const q = await rtpengine.client.query({ callId });
      return q.reply['last signal'] !== undefined ? q : undefined;
    });
    expect([...(await rtpengine.client.query({ callId })).tags].sort()).toEqual(
      [FAR_END_TAG, fromTag].sort(),
    );
    expect(await localAddressOf(rtpengine, callId, fromTag)).toBe(callerAddress);
    expect(await localAddressOf(rtpengine, callId, FAR_END_TAG)).toBe(farEndAddress);

    const refreshed = Date.now();
    await waitFor('three seconds after the re-INVITEs', async () =>
      Date.now() - refreshed > 3000 ? true : undefined,
    );
    await caller.hangup();
    await app.next('deleted');
    await agent.waitForEvent('CALL_CLOSED', { since: refreshed });
    const callerHeard = caller.recordings().heard.at(-1)!;
    const agentHeard = agent.recordings().heard.at(-1)!;
    const [callerEnd, agentEnd] = await Promise.all([
      durationS(callerHeard),
      durationS(agentHeard),
    ]);
    const heardByCaller = await dominantFrequency(callerHeard, {
      startS: callerEnd - 2,
      durationS: 1.5,
    });
    const heardByAgent = await dominantFrequency(agentHeard, {
      startS: agentEnd - 2,
      durationS: 1.5,
    });
    expect(Math.abs(heardByCaller - AGENT_HZ) / AGENT_HZ).toBeLessThan(0.05);
    expect(Math.abs(heardByAgent - CALLER_HZ) / CALLER_HZ).toBeLessThan(0.05);
  });

  it('lets Kamailio make the early answer before suspending, so every provisional repeats the SDP', async () => {
    const { rtpengine, app, caller, agent, sipPort } = site;
    const t0 = Date.now();
    const filesBefore = caller.recordings().heard.length;
    await caller.dial(`sip:${KAMAILIO_EARLY_ANSWER_PREFIX}01@127.0.0.1:${sipPort}`);
    const invite = await app.next('invite');
    const callId = String(invite.callid);
    const fromTag = String(invite.fromTag);
    // Kamailio answered rtpengine for the black hole over ng-over-HTTP before suspending.
    const earlyAddress = mediaAddress(invite.earlySdp);
    expect(await localAddressOf(rtpengine, callId, fromTag)).toBe(earlyAddress);
    expect([...(await rtpengine.client.query({ callId })).tags].sort()).toEqual(
      [FAR_END_TAG, fromTag].sort(),
    );

    // No SDP in the commands: t_reply_callid's 183 and 182 carry the body set before suspending.
    app.send({ action: 'provisional', callid: callId, cseq: invite.cseq, code: 183 });
    expect((await app.next('result')).ok).toBe(1);
    await caller.waitForEvent('CALL_PROGRESS', { since: t0 });
    app.send({ action: 'play', callid: callId, fromTag, earlyTag: FAR_END_TAG, file: ringback });
    expect((await app.next('result')).ok).toBe(1);
    const ringing = Date.now();
    await waitFor('the ringback burst', async () =>
      Date.now() - ringing > 1500 ? true : undefined,
    );
    const queued = Date.now();
    app.send({ action: 'provisional', callid: callId, cseq: invite.cseq, code: 182 });
    expect((await app.next('result')).ok).toBe(1);
    // baresip reports an 18x with SDP as CALL_PROGRESS and one without as CALL_RINGING.
    await caller.waitForEvent('CALL_PROGRESS', { since: queued });
    expect(caller.events.filter((e) => e.at >= t0 && e.type === 'CALL_RINGING')).toEqual([]);
    app.send({ action: 'relay', tindex: invite.tindex, tlabel: invite.tlabel, uri: agent.uri });
    await app.next('answered');
    const established = await caller.waitForEvent('CALL_ESTABLISHED', { since: t0 });
    expect(await localAddressOf(rtpengine, callId, fromTag)).toBe(earlyAddress);
    await waitFor('two seconds of conversation', async () =>
      Date.now() - established.at > 2000 ? true : undefined,
    );
    await caller.hangup();
    await app.next('deleted');

    // baresip starts its audio stream again on every 18x with SDP (a new pair of files): the
    // ringback in the first, the agent's tone at the end of the last.
    const heard = caller.recordings().heard.slice(filesBefore);
    expect(heard.length).toBeGreaterThanOrEqual(2);
    const ringHz = await dominantFrequency(heard[0]!, { startS: 0.2, durationS: 0.6 });
    expect(Math.abs(ringHz - 450) / 450).toBeLessThan(0.05);
    const last = heard.at(-1)!;
    const total = await durationS(last);
    const endHz = await dominantFrequency(last, { startS: total - 1.5, durationS: 1 });
    expect(Math.abs(endHz - AGENT_HZ) / AGENT_HZ).toBeLessThan(0.05);
  });
});
