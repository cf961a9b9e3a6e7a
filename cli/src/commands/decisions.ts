import {
  createKafka,
  kafkaBrokersSchema,
  kafkaCredentialsFromEnv,
  kafkaEnvSchema,
  silentLogger,
  type KafkaCredentials,
} from '@ccfed/common';
import { z } from 'zod';
import { DEFAULT_TOPIC_PREFIX, routing, topicNames } from '@ccfed/proto';
import { parseCommandArgs, positionals } from '../args.js';
import { EXIT, OperationError, UsageError } from '../errors.js';
import { readDecisions } from '../decision-feed.js';
import { decisionLine } from '../format/decision.js';
import { parseDuration } from '../format/duration.js';
import { findSite, readTopology, topologyFile } from '../topology.js';
import type { Command } from './context.js';

export const DEFAULT_SINCE = '5m';

/** The operators' Kafka user: it may read route-decisions and nothing else. */
const OPERATOR_USER = 'operator';

const usage = `usage: ccfed decisions [--site SITE] [--since DURATION] [--follow] [--json] [--brokers LIST] [--topology FILE]

Prints the central router's decisions from Kafka (topic <prefix>.route-decisions), one line each:
time, call id, origin → stay or overflow target, the router's reason, the best eligible sites with
their expected wait (+ handicap) and the sites it could not use with why.

  --since DURATION  from this long ago, e.g. 90s, 5m, 1h30m, 2d (default ${DEFAULT_SINCE})
  --follow          after those, keep printing new decisions until Ctrl-C; without it, print
                    what the topic holds and exit
  --site SITE       only calls from or overflowed to SITE
  --json            one JSON object per line: the RouteDecision in protobuf JSON
  --brokers LIST    Kafka brokers host:port[,host:port] (default: $CCFED_KAFKA_BROKERS)
  --topology FILE   the topology file --site is checked against (default: $CCFED_TOPOLOGY,
                    else topology/example.yaml)

The topic prefix is $CCFED_TOPIC_PREFIX (default ${DEFAULT_TOPIC_PREFIX}). Kafka is reached over TLS
trusting the CA in $CCFED_TLS_CA, as Kafka user $CCFED_KAFKA_USERNAME (default ${OPERATOR_USER})
with the password in $CCFED_KAFKA_PASSWORD. Progress goes to stderr.
Exit status: 0 done, 1 Kafka could not be read, 2 bad input.`;

const credentialsSchema = z.object({
  CCFED_KAFKA_USERNAME: kafkaEnvSchema.CCFED_KAFKA_USERNAME.default(OPERATOR_USER),
  CCFED_KAFKA_PASSWORD: kafkaEnvSchema.CCFED_KAFKA_PASSWORD,
  CCFED_TLS_CA: kafkaEnvSchema.CCFED_TLS_CA,
});

export const decisionsCommand: Command = {
  name: 'decisions',
  summary: "the router's decisions from Kafka (--follow to tail)",
  usage,
  async run(argv, { env, io, signal }) {
    const { values, positionals: rest } = parseCommandArgs(
      argv,
      {
        site: { type: 'string' },
        since: { type: 'string' },
        follow: { type: 'boolean' },
        json: { type: 'boolean' },
        brokers: { type: 'string' },
        topology: { type: 'string' },
      },
      usage,
    );
    if (values.help) {
      io.out(usage);
      return EXIT.ok;
    }
    positionals(rest, [], usage);
    let sinceMs: number;
    try {
      sinceMs = Date.now() - parseDuration(values.since ?? DEFAULT_SINCE);
    } catch (err) {
      throw new UsageError(`--since: ${(err as Error).message}`, usage);
    }
    const brokers = kafkaBrokersSchema.safeParse(values.brokers ?? env.CCFED_KAFKA_BROKERS);
    if (!brokers.success) {
      throw new UsageError(
        `Kafka brokers: set CCFED_KAFKA_BROKERS or --brokers to host:port[,host:port] (${brokers.error.issues[0]?.message})`,
      );
    }
    let topic: string;
    try {
      topic = topicNames(env.CCFED_TOPIC_PREFIX || DEFAULT_TOPIC_PREFIX).routeDecisions;
    } catch (err) {
      throw new UsageError(`CCFED_TOPIC_PREFIX: ${(err as Error).message}`);
    }
    let siteId: string | undefined;
    if (values.site) {
      const file = topologyFile(values.topology, env);
      siteId = findSite(readTopology(file), values.site, file).id;
    }
    const about = (d: routing.RouteDecision) =>
      !siteId || d.request?.originSiteId === siteId || d.response?.targetSiteId === siteId;

    const parsed = credentialsSchema.safeParse(env);
    if (!parsed.success)
      throw new UsageError(
        `Kafka credentials: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    let credentials: KafkaCredentials;
    try {
      credentials = kafkaCredentialsFromEnv(parsed.data);
    } catch (err) {
      throw new UsageError(`CCFED_TLS_CA: ${(err as Error).message}`);
    }

    io.err(`reading ${topic} since ${new Date(sinceMs).toISOString()}…`);
    let printed = 0;
    let read: number;
    try {
      read = await readDecisions({
        kafka: createKafka({
          brokers: brokers.data,
          clientId: 'ccfed-cli',
          credentials,
          log: silentLogger(),
          retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000 },
        }),
        topic,
        sinceMs,
        follow: values.follow ?? false,
        signal,
        onDecision: (decision, messageTime) => {
          if (!about(decision)) return;
          printed += 1;
          io.out(
            values.json
              ? JSON.stringify(routing.RouteDecision.toJSON(decision))
              : decisionLine(decision, messageTime),
          );
        },
        onUndecodable: (where, reason) =>
          io.err(`skipped an undecodable message (${where}): ${reason}`),
        onProgress: (message) => io.err(message),
      });
    } catch (err) {
      throw new OperationError(
        `cannot read ${topic} from Kafka at ${brokers.data.join(',')}: ${(err as Error).message}`,
      );
    }
    io.err(
      `${printed} decision${printed === 1 ? '' : 's'}${siteId ? ` about ${siteId}` : ''} (${read} read)`,
    );
    return EXIT.ok;
  },
};
