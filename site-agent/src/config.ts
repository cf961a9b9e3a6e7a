import { kafkaEnvSchema, tlsEnvSchema } from '@ccfed/common';
import { DEFAULT_PROMPTS_DIR } from '@ccfed/services/media';
import { z } from 'zod';
import { FEDERATION_KEY_MIN_BYTES } from './sip-context-signature.js';

/** The site agent's variables one by one; siteAgentConfigSchema adds the checks across them. */
const siteAgentEnvironment = z.object({
  CCFED_TOPOLOGY: z.string({ error: 'required: path of the federation topology file' }).min(1),
  CCFED_SITE: z.string({ error: 'required: id of this site in the topology' }).min(1),
  /** Kafka and this site's credentials there (user site-<id>): CCFED_KAFKA_*, CCFED_TLS_CA. */
  ...kafkaEnvSchema,
  CCFED_TOPIC_PREFIX: z.string().default('ccfed'),
  CCFED_SNAPSHOT_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
  /** host:port of the central router; without it the site routes every call locally. */
  CCFED_ROUTER: z
    .string()
    .regex(/^[\w.-]+:\d+$/, 'expected host:port of the central router')
    .optional(),
  CCFED_DATA_DIR: z
    .string({ error: "required: directory for the site agent's durable state (its event outbox)" })
    .min(1),
  /**
   * Secret key for the caller hash (HMAC-SHA256 of the caller's number), shared by every site of
   * the federation so that one caller hashes alike everywhere. Without it no caller hash is
   * recorded: an unkeyed hash of a phone number is reversible by trying every number.
   */
  CCFED_CALLER_HASH_KEY: z
    .string()
    .refine((k) => Buffer.byteLength(k, 'utf8') >= 16, 'must be at least 16 bytes')
    .optional(),
  /**
   * The federation key (shared by every site, at least 32 bytes): signs the X-CC-* context of
   * calls this site overflows and verifies that of calls overflowed here (docs/security.md, "SIP").
   */
  CCFED_FEDERATION_KEY: z
    .string({ error: 'required: the federation key that signs overflowed calls (32+ bytes)' })
    .refine(
      (k) => Buffer.byteLength(k, 'utf8') >= FEDERATION_KEY_MIN_BYTES,
      `must be at least ${FEDERATION_KEY_MIN_BYTES} bytes`,
    ),
  /** During a key rotation: the key being replaced, still accepted when verifying (never signs). */
  CCFED_FEDERATION_KEY_PREVIOUS: z
    .string()
    .refine(
      (k) => Buffer.byteLength(k, 'utf8') >= FEDERATION_KEY_MIN_BYTES,
      `must be at least ${FEDERATION_KEY_MIN_BYTES} bytes`,
    )
    .optional(),
  /**
   * The prompts rendered at install time (scripts/install.sh), which the site's rtpengine plays
   * to queued callers: it must read the same path. Announcements are assembled beside them.
   */
  CCFED_PROMPTS_DIR: z.string().min(1).default(DEFAULT_PROMPTS_DIR),
  CCFED_OUTBOX_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(16 * 1024 * 1024)
    .default(1024 ** 3),
  /**
   * The site's certificate (site:<CCFED_SITE>) and the federation CA: the control API serves
   * mutual TLS only, and the router is called with this certificate.
   */
  ...tlsEnvSchema,
  /**
   * Recording (docs/media.md, "Recording"). The site's rtpengine: its ng control address (on
   * loopback: ng has no authentication) and its --recording-dir, whose pcaps the site agent turns
   * into sealed recordings and deletes.
   */
  CCFED_RTPENGINE_NG: z
    .string()
    .regex(/^[\w.-]+:\d{1,5}$/, "expected host:port of rtpengine's ng control")
    .optional(),
  CCFED_RTPENGINE_RECORDING_DIR: z.string().min(1).optional(),
  /** The site's recording keys (JSON, mode 600): without them nothing is recorded or played. */
  CCFED_RECORDING_KEYS_FILE: z.string().min(1).optional(),
  /** Where the sealed recordings are kept; default <CCFED_DATA_DIR>/recordings. */
  CCFED_RECORDING_DIR: z.string().min(1).optional(),
  /** How often the retention job deletes expired recordings. */
  CCFED_RECORDING_SWEEP_SECONDS: z.coerce.number().positive().max(86_400).default(3600),
  /**
   * The site's secret for SIP credentials (what its Kamailio's auth_ephemeral checks): the
   * outbound dialer signs in with it as `_dialer` (docs/dialer.md). Needed by a site with
   * sip.trunk; never logged.
   */
  CCFED_SIP_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9+/=_-]{16,}$/, 'expected base64 of at least 16 characters')
    .optional(),
});

/** The site agent's environment, parsed once at start-up. */
export const siteAgentConfigSchema = siteAgentEnvironment.superRefine((env, ctx) => {
  // rtpengine without keys would leave calls' audio in the clear; name what is missing.
  const rtpengine = ['CCFED_RTPENGINE_NG', 'CCFED_RTPENGINE_RECORDING_DIR'] as const;
  if (rtpengine.some((k) => env[k] !== undefined))
    for (const name of [...rtpengine, 'CCFED_RECORDING_KEYS_FILE'] as const)
      if (env[name] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `required to record calls: give CCFED_RTPENGINE_NG, CCFED_RTPENGINE_RECORDING_DIR and CCFED_RECORDING_KEYS_FILE together`,
        });
});

export type SiteAgentConfig = z.output<typeof siteAgentConfigSchema>;
