// The desk's view of its phone: the browser softphone (src/softphone/, JsSIP over the site's
// Kamailio WebSocket) when the agent works in the browser. An agent at a desk SIP phone logs in
// with that phone's URI instead and the desk shows the same story and controls; the phone's own
// buttons answer and hang up.
import { apiGet } from '@ccfed/console/session';
import { createSoftphone, type Softphone } from '../softphone/index.js';

export type { Softphone };

/** The credentials GET /desktop/sip-credentials gives an agent for its site's Kamailio. */
export interface SipCredentials {
  readonly wsUri: string;
  readonly username: string;
  readonly password: string;
  readonly expiresAt: string;
  readonly aor: string;
}

/** Registers the browser softphone with fresh credentials; resolves once it is registered. */
export async function startSoftphone(): Promise<{ phone: Softphone; aor: string }> {
  const creds = await apiGet<SipCredentials>('/desktop/sip-credentials');
  const phone = createSoftphone(creds);
  try {
    await phone.registered;
  } catch (err) {
    await phone.stop();
    throw new Error(
      `the softphone could not register: ${String(err instanceof Error ? err.message : err)}`,
    );
  }
  return { phone, aor: creds.aor };
}
