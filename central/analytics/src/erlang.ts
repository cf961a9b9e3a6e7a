// Analytic references for one queue of c identical agents with Poisson arrivals and exponential
// handle times: Erlang C (callers never give up) in closed form, and Erlang A (exponential
// patience) as a birth-death chain truncated where its probabilities vanish, which is exact to
// double precision. The routing simulator (bench/routing) is checked against them, and the
// staffing plan (staffing.ts) sizes every interval with Erlang A.

export interface QueueModel {
  readonly agents: number;
  /** Calls per second. */
  readonly arrivalRate: number;
  readonly averageHandleS: number;
  /** Mean caller patience in seconds; Infinity for callers that never abandon. */
  readonly averagePatienceS: number;
  /** Service-level threshold in seconds (answered within it). */
  readonly thresholdS: number;
}

export interface QueueFigures {
  /** Answered within the threshold / offered (abandons count in the denominator). */
  readonly sl: number;
  /** Mean wait of answered calls, those answered at once included. */
  readonly asa_s: number;
  /** Abandoned / offered. */
  readonly abandon_rate: number;
  /** Probability an arriving call has to wait. */
  readonly p_wait: number;
}

/** Erlang C in closed form: requires load < agents; no abandons. */
export function erlangC(m: QueueModel): QueueFigures {
  const mu = 1 / m.averageHandleS;
  const a = m.arrivalRate / mu;
  const c = m.agents;
  if (a >= c) throw new Error(`Erlang C needs load ${a} below ${c} agents`);
  // Erlang B by its stable recursion, then C from B.
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  const pWait = (c * b) / (c - a * (1 - b));
  const drain = c * mu - m.arrivalRate;
  return {
    sl: 1 - pWait * Math.exp(-drain * m.thresholdS),
    asa_s: pWait / drain,
    abandon_rate: 0,
    p_wait: pWait,
  };
}

/**
 * Erlang A (M/M/c+M) from the birth-death chain of calls in the system (death rate
 * min(n, c)·μ + max(0, n − c)·θ), with a tagged FCFS caller's wait solved exactly: with j callers
 * ahead, the line moves at c·μ + j·θ and the caller leaves at θ. Patience Infinity gives Erlang C.
 */
export function erlangA(m: QueueModel): QueueFigures {
  const mu = 1 / m.averageHandleS;
  const theta = Number.isFinite(m.averagePatienceS) ? 1 / m.averagePatienceS : 0;
  const c = m.agents;
  const lambda = m.arrivalRate;
  if (theta === 0 && lambda >= c * mu) throw new Error('no stationary state without abandons');

  // Unnormalised stationary probabilities, until they no longer matter.
  const p: number[] = [1];
  let total = 1;
  for (let n = 1; n < 1_000_000; n++) {
    const death = Math.min(n, c) * mu + Math.max(0, n - c) * theta;
    const next = (p[n - 1]! * lambda) / death;
    p.push(next);
    total += next;
    if (n > c && next < total * 1e-17) break;
  }
  const pi = p.map((x) => x / total);
  const ahead = Math.max(0, pi.length - c); // states with j = n - c callers ahead

  // Probability of being answered, and E[wait · 1{answered}], from j ahead (exact recursions).
  const served: number[] = [];
  const waitServed: number[] = [];
  for (let j = 0; j < ahead; j++) {
    const down = c * mu + j * theta;
    const out = down + theta;
    const prevS = j === 0 ? 1 : served[j - 1]!;
    const prevW = j === 0 ? 0 : waitServed[j - 1]!;
    served.push((down / out) * prevS);
    waitServed.push((down / out) * (prevS / out + prevW));
  }

  // P(answered within T | j ahead): backward equations du_j/dt = d_j(u_{j-1} - u_j) - θ u_j,
  // u_{-1} = 1, integrated by RK4 from u(0) = 0. u_j depends only on u_0..u_j, so the states
  // whose probability is below 1e-15 (they cannot move the service level) are left out: with
  // patient callers the chain runs to hundreds of states that would also force smaller steps.
  let solved = ahead;
  while (solved > 0 && pi[c + solved - 1]! < 1e-15) solved--;
  const maxRate = c * mu + solved * theta + theta;
  const steps = Math.max(200, Math.ceil((m.thresholdS * maxRate) / 0.05));
  const dt = m.thresholdS / steps;
  // One RK4 step at a time over preallocated buffers: the staffing plan solves this for tens of
  // thousands of intervals, and allocating four arrays per step made it twenty times slower.
  const n = solved;
  const rate = new Float64Array(n);
  for (let j = 0; j < n; j++) rate[j] = c * mu + j * theta;
  const deriv = (x: Float64Array, out: Float64Array): void => {
    for (let j = 0; j < n; j++) {
      const prev = j === 0 ? 1 : x[j - 1]!;
      out[j] = rate[j]! * (prev - x[j]!) - theta * x[j]!;
    }
  };
  const u = new Float64Array(n);
  const tmp = new Float64Array(n);
  const k1 = new Float64Array(n);
  const k2 = new Float64Array(n);
  const k3 = new Float64Array(n);
  const k4 = new Float64Array(n);
  for (let s = 0; s < steps; s++) {
    deriv(u, k1);
    for (let j = 0; j < n; j++) tmp[j] = u[j]! + (dt / 2) * k1[j]!;
    deriv(tmp, k2);
    for (let j = 0; j < n; j++) tmp[j] = u[j]! + (dt / 2) * k2[j]!;
    deriv(tmp, k3);
    for (let j = 0; j < n; j++) tmp[j] = u[j]! + dt * k3[j]!;
    deriv(tmp, k4);
    for (let j = 0; j < n; j++)
      u[j] = u[j]! + (dt / 6) * (k1[j]! + 2 * k2[j]! + 2 * k3[j]! + k4[j]!);
  }

  let immediate = 0;
  for (let n = 0; n < Math.min(c, pi.length); n++) immediate += pi[n]!;
  let answered = immediate;
  let withinT = immediate;
  let waitSum = 0;
  for (let j = 0; j < ahead; j++) {
    const q = pi[c + j]!;
    answered += q * served[j]!;
    if (j < solved) withinT += q * u[j]!;
    waitSum += q * waitServed[j]!;
  }
  return {
    sl: withinT,
    asa_s: waitSum / answered,
    abandon_rate: 1 - answered,
    p_wait: 1 - immediate,
  };
}
