// Who is on the other end of a connection: every ccfed certificate names exactly one principal
// in a SPIFFE-style URI subject alternative name, spiffe://ccfed/<kind>/<...>. The federation's
// own CA is the trust root, so the trust domain is a constant; the URI is what authorisation
// reads, never the common name or the peer's address. Pure: no I/O.

/** The trust domain in every principal URI. */
export const TRUST_DOMAIN = 'ccfed';

const NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** The central services that hold a certificate of their own. */
export const SERVICES = ['router', 'ingester', 'api', 'launcher', 'kafka'] as const;
export type ServiceName = (typeof SERVICES)[number];

export type Principal =
  /** A site's own processes (site agent, its Kamailio's TLS peer link). */
  | { readonly kind: 'site'; readonly site: string }
  /** A central service. */
  | { readonly kind: 'service'; readonly service: ServiceName }
  /** A person running the federation (drain, status): the `ccfed` CLI. */
  | { readonly kind: 'operator'; readonly name: string }
  /** A site's supervisor; with a tenant, an outsourcing client's supervisor of that tenant only. */
  | { readonly kind: 'supervisor'; readonly site: string; readonly tenant?: string }
  /** One agent at one site. */
  | { readonly kind: 'agent'; readonly site: string; readonly agent: string };

/** The principal's URI, as it stands in its certificate. */
export function principalUri(p: Principal): string {
  return `spiffe://${TRUST_DOMAIN}/${principalPath(p).join('/')}`;
}

/** A short label for logs and error messages: "site:beijing", "agent:beijing/bj-001". */
export function principalLabel(p: Principal): string {
  const [kind, ...rest] = principalPath(p);
  return `${kind}:${rest.join('/')}`;
}

function principalPath(p: Principal): string[] {
  switch (p.kind) {
    case 'site':
      return ['site', p.site];
    case 'service':
      return ['service', p.service];
    case 'operator':
      return ['operator', p.name];
    case 'supervisor':
      return p.tenant ? ['supervisor', p.site, p.tenant] : ['supervisor', p.site];
    case 'agent':
      return ['agent', p.site, p.agent];
  }
}

/** The principal a URI names, or undefined when it is not a well-formed ccfed principal URI. */
export function parsePrincipalUri(uri: string): Principal | undefined {
  const prefix = `spiffe://${TRUST_DOMAIN}/`;
  if (!uri.startsWith(prefix)) return undefined;
  const parts = uri.slice(prefix.length).split('/');
  if (!parts.slice(1).every((part) => NAME.test(part))) return undefined;
  const [kind, a, b, ...extra] = parts;
  if (extra.length > 0 || a === undefined) return undefined;
  switch (kind) {
    case 'site':
      return b === undefined ? { kind, site: a } : undefined;
    case 'service':
      return b === undefined && (SERVICES as readonly string[]).includes(a)
        ? { kind, service: a as ServiceName }
        : undefined;
    case 'operator':
      return b === undefined ? { kind, name: a } : undefined;
    case 'supervisor':
      return b === undefined ? { kind, site: a } : { kind, site: a, tenant: b };
    case 'agent':
      return b === undefined ? undefined : { kind, site: a, agent: b };
    default:
      return undefined;
  }
}

/**
 * The one principal a certificate's subjectAltName names (Node's format: "URI:spiffe://…,
 * IP Address:127.0.0.1"). A certificate naming none, or more than one, names no principal.
 */
export function principalFromSubjectAltName(san: string | undefined): Principal | undefined {
  if (!san) return undefined;
  const uris = san
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice('URI:'.length));
  if (uris.length !== 1) return undefined;
  return parsePrincipalUri(uris[0]!);
}

/** Whether two principals are the same one. */
export function samePrincipal(a: Principal, b: Principal): boolean {
  return principalUri(a) === principalUri(b);
}
