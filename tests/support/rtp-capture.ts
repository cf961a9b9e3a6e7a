// What crossed loopback between a site's rtpengine and the phones, captured with dumpcap: for
// checking audio a phone's own recording cannot show (baresip stops writing what it hears at the
// first re-INVITE of a call). The RTP is read and laid out with the recordings' own code
// (services/src/media/recording-audio.ts) and decoded with sox.
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { layOutChannel, readRecordedRtp, type RecordedRtp } from '@ccfed/services';
import { dominantFrequency, levelDb } from './audio.js';

const run = promisify(execFile);
export const DUMPCAP_BIN = '/usr/bin/dumpcap';

export interface RtpCapture {
  /** Stops capturing and returns the RTP packets captured, in capture order. */
  stop(): Promise<RecordedRtp[]>;
}

/** A UDP port, or an inclusive range of them (a phone's RTP ports). */
export type Ports = number | { readonly min: number; readonly max: number };

const inPorts = (ports: Ports, port: number) =>
  typeof ports === 'number' ? port === ports : port >= ports.min && port <= ports.max;

/** Captures UDP on lo to or from `ports` into `file` until stopped. */
export async function captureRtp(file: string, ports: Ports): Promise<RtpCapture> {
  const filter =
    typeof ports === 'number' ? `udp port ${ports}` : `udp portrange ${ports.min}-${ports.max}`;
  const child = spawn(DUMPCAP_BIN, ['-q', '-i', 'lo', '-f', filter, '-w', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dumpcap did not start: ${stderr}`)), 10_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('Capturing on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dumpcap exited with ${code}: ${stderr}`));
    });
  });
  return {
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
      return readRecordedRtp([file]);
    },
  };
}

/** One stream's audio (G.711 packets to one port) as a WAV, or undefined if it has none. */
export async function streamToWav(
  packets: readonly RecordedRtp[],
  dstPort: number,
  wav: string,
): Promise<string | undefined> {
  const mine = packets.filter(
    (p) => p.dstPort === dstPort && (p.payloadType === 0 || p.payloadType === 8),
  );
  if (mine.length === 0) return undefined;
  const { codec, bytes } = layOutChannel(mine, mine[0]!.timeS, mine.at(-1)!.timeS + 0.02);
  const raw = `${wav}.raw`;
  writeFileSync(raw, bytes);
  await run('/usr/bin/sox', [
    '-t',
    codec === 'ulaw' ? 'ul' : 'al',
    '-r',
    '8000',
    '-c',
    '1',
    raw,
    wav,
  ]);
  return wav;
}

/** Of a capture on `ports`, the packets sent to them and those sent from them. */
export function directions(
  packets: readonly RecordedRtp[],
  ports: Ports,
): { readonly to: RecordedRtp[]; readonly from: RecordedRtp[] } {
  return {
    to: packets.filter((p) => inPorts(ports, p.dstPort)),
    from: packets.filter((p) => !inPorts(ports, p.dstPort)),
  };
}

/** Every stream of G.711 in `packets`, by the port it went to: its dominant frequency and level. */
export async function streamsByPort(
  packets: readonly RecordedRtp[],
  wavPrefix: string,
): Promise<{ port: number; hz: number; db: number; packets: number }[]> {
  const out = [];
  for (const port of new Set(packets.map((p) => p.dstPort))) {
    const wav = await streamToWav(packets, port, `${wavPrefix}-${port}.wav`);
    if (!wav) continue;
    out.push({
      port,
      hz: await dominantFrequency(wav),
      db: await levelDb(wav),
      packets: packets.filter((p) => p.dstPort === port).length,
    });
  }
  return out;
}
