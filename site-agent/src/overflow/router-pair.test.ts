import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RouterPair, SET_ASIDE_MS } from './router-pair.js';

const A = 'router-a:50051';
const B = 'router-b:50051';
const HEDGE_MS = 50;
const DEADLINE_MS = 200;

/** How each router behaves: answers after a delay, fails after a delay, or never answers. */
type Behaviour = { answerAfterMs: number } | { failAfterMs: number } | 'hung';

function pair(
  behaviour: Record<string, Behaviour>,
  extra: { isFinal?: (e: unknown) => boolean } = {},
) {
  const asked: string[] = [];
  const cancelled: string[] = [];
  /** "address cause" for each question moved on to the next router. */
  const failovers: string[] = [];
  const ask = (address: string, question: string, signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      asked.push(address);
      const b = behaviour[address]!;
      const timer =
        b === 'hung'
          ? undefined
          : 'answerAfterMs' in b
            ? setTimeout(() => resolve(`${question} from ${address}`), b.answerAfterMs)
            : setTimeout(() => reject(new Error('UNAVAILABLE: connection refused')), b.failAfterMs);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        cancelled.push(address);
        reject(new Error('cancelled'));
      });
    });
  const p = new RouterPair<string, string>({
    addresses: [A, B],
    ask,
    hedgeAfterMs: HEDGE_MS,
    deadlineMs: DEADLINE_MS,
    clock: { now: () => Date.now() },
    log: pino({ level: 'silent' }),
    onFailover: (address, cause) => failovers.push(`${address} ${cause}`),
    ...extra,
  });
  /** Asks and reports the answer (or error) and how long it took, in fake time. */
  const question = async (q: string) => {
    const started = Date.now();
    const outcome = p.ask(q).then(
      (answer) => ({ answer, error: undefined }),
      (err: Error) => ({ answer: undefined, error: err.message }),
    );
    await vi.runAllTimersAsync();
    return { ...(await outcome), tookMs: Date.now() - started };
  };
  return { p, asked, cancelled, failovers, question, behaviour };
}

describe('RouterPair', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks the first router only, when it answers in time', async () => {
    const { question, asked } = pair({ [A]: { answerAfterMs: 5 }, [B]: { answerAfterMs: 5 } });
    expect(await question('q1')).toEqual({
      answer: 'q1 from router-a:50051',
      error: undefined,
      tookMs: 5,
    });
    expect(asked).toEqual([A]);
  });

  it('fails over at once when a router refuses, and asks that router last for a while', async () => {
    const { question, asked, failovers, p } = pair({
      [A]: { failAfterMs: 1 },
      [B]: { answerAfterMs: 5 },
    });
    expect(await question('q1')).toMatchObject({ answer: 'q1 from router-b:50051', tookMs: 6 });
    expect(asked).toEqual([A, B]);
    expect(failovers).toEqual([`${A} error`]);
    expect(p.order()).toEqual([B, A]);
    // The next questions go to B alone, without waiting on A.
    asked.length = 0;
    expect(await question('q2')).toMatchObject({ answer: 'q2 from router-b:50051', tookMs: 5 });
    expect(asked).toEqual([B]);
    // After the set-aside time A is preferred again.
    vi.advanceTimersByTime(SET_ASIDE_MS);
    expect(p.order()).toEqual([A, B]);
  });

  it('asks the other router too after the hedge delay when the first does not answer, and cancels the loser', async () => {
    const { question, asked, cancelled, failovers, p } = pair({
      [A]: 'hung',
      [B]: { answerAfterMs: 10 },
    });
    expect(await question('q1')).toMatchObject({
      answer: 'q1 from router-b:50051',
      tookMs: HEDGE_MS + 10,
    });
    expect(asked).toEqual([A, B]);
    expect(cancelled).toEqual([A]);
    expect(failovers).toEqual([`${A} no-answer`]);
    // A hung router is set aside like a failed one: later questions do not wait for it.
    expect(p.order()).toEqual([B, A]);
    asked.length = 0;
    expect(await question('q2')).toMatchObject({ answer: 'q2 from router-b:50051', tookMs: 10 });
    expect(asked).toEqual([B]);
  });

  it('takes the slow first router when it answers before the other, and prefers it again', async () => {
    const { question, asked, cancelled, p } = pair({
      [A]: { answerAfterMs: 60 },
      [B]: { answerAfterMs: 30 },
    });
    expect(await question('q1')).toMatchObject({ answer: 'q1 from router-a:50051', tookMs: 60 });
    expect(asked).toEqual([A, B]);
    expect(cancelled).toEqual([B]);
    expect(p.order()).toEqual([A, B]);
  });

  it('fails within the deadline when neither router answers, naming what each did', async () => {
    const hung = pair({ [A]: 'hung', [B]: 'hung' });
    const r = await hung.question('q1');
    expect(r.tookMs).toBe(DEADLINE_MS);
    expect(r.error).toBe(`no router answered within ${DEADLINE_MS} ms (asked ${A}, ${B})`);
    expect(hung.cancelled.sort()).toEqual([A, B]);

    const down = pair({ [A]: { failAfterMs: 1 }, [B]: { failAfterMs: 2 } });
    const d = await down.question('q1');
    expect(d.tookMs).toBe(3);
    expect(d.error).toBe(
      `no router answered: ${A}: UNAVAILABLE: connection refused; ${B}: UNAVAILABLE: connection refused`,
    );
  });

  it('does not fail over a refusal every router would repeat', async () => {
    const { question, asked, p } = pair(
      { [A]: { failAfterMs: 1 }, [B]: { answerAfterMs: 1 } },
      { isFinal: () => true },
    );
    expect(await question('q1')).toMatchObject({ error: 'UNAVAILABLE: connection refused' });
    expect(asked).toEqual([A]);
    expect(p.order()).toEqual([A, B]);
  });

  it('with one router, waits for it up to the deadline and never sets it aside', async () => {
    const asked: string[] = [];
    const p = new RouterPair<string, string>({
      addresses: [A],
      ask: (address, q) => {
        asked.push(address);
        return new Promise((r) => setTimeout(() => r(q), 150));
      },
      hedgeAfterMs: HEDGE_MS,
      deadlineMs: DEADLINE_MS,
      clock: { now: () => Date.now() },
      log: pino({ level: 'silent' }),
    });
    const answer = p.ask('q1');
    await vi.runAllTimersAsync();
    expect(await answer).toBe('q1');
    expect(asked).toEqual([A]);
  });
});
