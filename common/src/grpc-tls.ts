// Mutual TLS for every ccfed gRPC server and client. A server asks every client for a
// certificate from the federation's CA and refuses the connection without one; the principal the
// client's certificate names (principal.ts) reaches the handlers through `peerPrincipal(context)`.
// A client checks that the server's certificate names the principal it meant to reach, not a
// host name: a site agent's certificate cannot pass for the router's, wherever it listens.

import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { Metadata as GrpcMetadata } from '@grpc/grpc-js';
import {
  ChannelCredentials,
  ServerCredentials,
  ServerInterceptingCall,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import {
  createChannel,
  ServerError,
  Status,
  type CallContext,
  type Channel,
  type ChannelOptions,
} from 'nice-grpc';
import { z } from 'zod';
import {
  parsePrincipalUri,
  principalFromSubjectAltName,
  principalLabel,
  principalUri,
  type Principal,
} from './principal.js';

/** Where a process finds its TLS material: CCFED_TLS_CA, CCFED_TLS_CERT, CCFED_TLS_KEY (PEM files). */
export const tlsEnvSchema = {
  CCFED_TLS_CA: z
    .string({ error: "required: path of the federation CA's certificate (PEM)" })
    .min(1),
  CCFED_TLS_CERT: z
    .string({ error: "required: path of this process's certificate (PEM), issued by the CA" })
    .min(1),
  CCFED_TLS_KEY: z.string({ error: "required: path of this process's private key (PEM)" }).min(1),
};

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** A process's TLS material, read once at start. */
export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The principal this process's own certificate names. */
  readonly self: Principal;
}

/**
 * Reads the CA, certificate and key, and checks that the certificate was issued by that CA and
 * names one ccfed principal: a misconfigured process stops at start, naming the file.
 */
export function loadTls(files: { ca: string; cert: string; key: string }): TlsMaterial {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read the TLS ${what} ${path}: ${(err as Error).message}`);
    }
  };
  const ca = read('CA certificate', files.ca);
  const cert = read('certificate', files.cert);
  const key = read('private key', files.key);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`${files.cert} is not a PEM certificate: ${(err as Error).message}`);
  }
  // CCFED_TLS_CA may hold several CA certificates while the CA is rotated (docs/security.md): the
  // process's own certificate must come from one of them.
  const cas = ca.toString('utf8').match(PEM_CERTIFICATE) ?? [];
  if (cas.length === 0) throw new Error(`${files.ca} holds no PEM certificate`);
  if (!cas.some((pem) => x509.verify(new X509Certificate(pem).publicKey)))
    throw new Error(`${files.cert} was not issued by the CA in ${files.ca}`);
  const self = principalFromSubjectAltName(x509.subjectAltName);
  if (!self) throw new Error(`${files.cert} names no ccfed principal (spiffe://ccfed/... URI SAN)`);
  return { ca, cert, key, self };
}

/** Reads the TLS material named by the CCFED_TLS_* variables of a parsed config. */
export function tlsFromEnv(config: {
  CCFED_TLS_CA: string;
  CCFED_TLS_CERT: string;
  CCFED_TLS_KEY: string;
}): TlsMaterial {
  return loadTls({
    ca: config.CCFED_TLS_CA,
    cert: config.CCFED_TLS_CERT,
    key: config.CCFED_TLS_KEY,
  });
}

/** Server credentials that require a client certificate from the federation's CA. */
export function grpcServerCredentials(tls: TlsMaterial): ServerCredentials {
  return ServerCredentials.createSsl(
    tls.ca,
    [{ cert_chain: tls.cert, private_key: tls.key }],
    true,
  );
}

/** The metadata key that carries the verified peer principal from the interceptor to handlers. */
const PEER_KEY = 'x-ccfed-verified-peer';

/**
 * A grpc-js server interceptor that replaces whatever the client sent under PEER_KEY with the
 * principal its verified certificate names (or nothing), before any handler runs.
 */
export const peerPrincipalInterceptor: ServerInterceptor = (_method, call) =>
  new ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMetadata: (metadata: GrpcMetadata, mdNext) => {
          metadata.remove(PEER_KEY);
          const san = call.getAuthContext()?.sslPeerCertificate?.subjectaltname;
          const peer = principalFromSubjectAltName(san);
          if (peer) metadata.set(PEER_KEY, principalUri(peer));
          mdNext(metadata);
        },
      }),
  });

/**
 * The principal the caller's certificate names. UNAUTHENTICATED when there is none (a server
 * without mutual TLS, or a certificate that names no principal).
 */
export function peerPrincipal(context: CallContext): Principal {
  const uri = context.metadata.get(PEER_KEY);
  const peer = typeof uri === 'string' ? parsePrincipalUri(uri) : undefined;
  if (!peer)
    throw new ServerError(
      Status.UNAUTHENTICATED,
      'a client certificate from the federation CA naming a ccfed principal is required',
    );
  return peer;
}

/**
 * Channel credentials for a client: its own certificate, the CA, and a check that the server's
 * certificate names a principal `expect` accepts (instead of the usual host-name check).
 */
export function grpcChannelCredentials(
  tls: TlsMaterial,
  expect: (server: Principal) => boolean,
  expected: string,
): ChannelCredentials {
  return ChannelCredentials.createSsl(tls.ca, tls.key, tls.cert, {
    checkServerIdentity: (_host, cert) => {
      const server = principalFromSubjectAltName(cert.subjectaltname);
      if (server && expect(server)) return undefined;
      return new Error(
        `the server's certificate names ${server ? principalLabel(server) : 'no ccfed principal'}, not ${expected}`,
      );
    },
  });
}

/**
 * Options for createServer(): the interceptor that makes `peerPrincipal(context)` work. Every
 * ccfed gRPC server is created with them and listens with grpcServerCredentials().
 */
export const secureServerOptions = { interceptors: [peerPrincipalInterceptor] };

/**
 * The largest gRPC message a site agent receives, and the largest the API sends one: a campaign's
 * list in CreateCampaign, either a CSV of up to the API's 8 MiB request body
 * (central/api/src/routes/campaigns.ts) or up to 100,000 customer ids of at most 64 characters
 * (6.7 MB with their framing), with room to spare. grpc-js's default, 4 MiB, holds about 90,000
 * CSV rows of 45 bytes but not a list of longer rows; a bigger message is refused with
 * RESOURCE_EXHAUSTED. Only mutually authenticated peers reach a site's server.
 */
export const MAX_SITE_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * A nice-grpc channel to `address` over mutual TLS, to a server whose certificate names a
 * principal `expect` accepts (`expected` says which, for the error). The TLS server name is a
 * fixed label rather than the address: identity is checked on the principal, and an IP address
 * is not a valid SNI name. `options` adds channel options (message size limits).
 */
export function secureChannel(
  address: string,
  tls: TlsMaterial,
  expect: (server: Principal) => boolean,
  expected: string,
  options: ChannelOptions = {},
): Channel {
  return createChannel(address, grpcChannelCredentials(tls, expect, expected), {
    ...options,
    'grpc.ssl_target_name_override': 'ccfed.peer',
    'grpc.default_authority': address,
  });
}
