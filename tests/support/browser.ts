// Debian's Chromium as the tests drive it (playwright-core, never a downloaded browser).
import { chromium, type Browser } from 'playwright-core';

const HEADLESS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--autoplay-policy=no-user-gesture-required',
];

/** Chromium for pages without media: the console, recordings played through `<audio>`. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: HEADLESS });
}

/**
 * Chromium for WebRTC against the test sites: its microphone plays `microphoneWav` (a fake device,
 * granted without asking), it gathers loopback candidates and names host candidates by address
 * rather than by mDNS name, because rtpengine's only ICE candidate is 127.0.0.1 and it cannot
 * resolve mDNS names (docs/media.md, "Browser agents"). `acceptAnyCertificate` for wss to a site
 * whose certificate is from the test federation's CA, which Chromium does not know.
 */
export function launchWebrtcChromium(
  microphoneWav: string,
  opts: { readonly acceptAnyCertificate?: boolean } = {},
): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      ...HEADLESS,
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${microphoneWav}`,
      '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      ...(opts.acceptAnyCertificate ? ['--ignore-certificate-errors'] : []),
    ],
  });
}
