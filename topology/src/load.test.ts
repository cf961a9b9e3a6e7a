import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadTopology, TopologyError } from './load.js';
import { languageOfNumber, mediaHostOf } from './lookup.js';

const EXAMPLE = new URL('../example.yaml', import.meta.url).pathname;

/** Writes the example topology with `mutate` applied, and returns the file's path. */
function variant(mutate: (doc: any) => void): string {
  const doc = parse(loadText(EXAMPLE));
  mutate(doc);
  return writeTemp(stringify(doc));
}

function loadText(file: string): string {
  return readFileSync(file, 'utf8');
}

function writeTemp(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ccfed-topology-')), 'topology.yaml');
  writeFileSync(file, text);
  return file;
}

function errorOf(file: string): TopologyError {
  try {
    loadTopology(file);
  } catch (err) {
    expect(err).toBeInstanceOf(TopologyError);
    return err as TopologyError;
  }
  throw new Error('expected the topology to be rejected');
}

describe('loadTopology', () => {
  it('loads the example federation: HQ plus two branches, three skills, two tenants', () => {
    const t = loadTopology(EXAMPLE);
    expect(t.federation.hqSite).toBe('shanghai');
    expect(t.sites.map((s) => s.id)).toEqual(['shanghai', 'beijing', 'guangzhou']);
    expect(t.skills.map((s) => s.id)).toEqual(['sales', 'support', 'complaints']);
    expect(t.tenants).toHaveLength(2);
    expect(t.sites.every((s) => s.agents.length > 0)).toBe(true);
  });

  it('returns a frozen topology, so no component can change what the others see', () => {
    const t = loadTopology(EXAMPLE);
    expect(() => {
      (t.sites as unknown as unknown[]).push({});
    }).toThrow();
  });

  it('names file and path for an agent with an unknown skill', () => {
    const file = variant((d) => {
      d.sites[1].agents[0].skills = { fraud: 5 };
    });
    const err = errorOf(file);
    expect(err.issues).toEqual([
      {
        path: 'sites[1].agents[0].skills.fraud',
        message: 'unknown skill "fraud" (known: sales, support, complaints)',
      },
    ]);
    expect(err.message).toContain(file);
    expect(err.message).toContain('sites[1].agents[0].skills.fraud');
  });

  it('rejects duplicate site ids', () => {
    const err = errorOf(
      variant((d) => {
        d.sites[2].id = 'beijing';
      }),
    );
    expect(err.issues).toContainEqual({
      path: 'sites[2].id',
      message: 'duplicate site id "beijing" (first used at sites[1])',
    });
  });

  it('rejects two sites on one SIP port', () => {
    const err = errorOf(
      variant((d) => {
        d.sites[2].sip.port = d.sites[0].sip.port;
      }),
    );
    expect(err.issues).toEqual([
      {
        path: 'sites[2].sip.port',
        message: '127.0.0.1:5060 is already used by sites[0] (shanghai) sip',
      },
    ]);
  });

  it("takes a site's outbound trunk as sip:<host>:<port>, and only beside a loopback WebSocket listener for its dialer", () => {
    const ok = loadTopology(
      variant((d) => {
        d.sites[1].sip.trunk = 'sip:127.0.0.1:5090';
      }),
    );
    expect(ok.sites[1]!.sip.trunk).toBe('sip:127.0.0.1:5090');
    expect(
      errorOf(
        variant((d) => {
          d.sites[1].sip.trunk = 'sip:trunk.example.com';
        }),
      ).issues.map((i) => i.path),
    ).toEqual(['sites[1].sip.trunk']);
    expect(
      errorOf(
        variant((d) => {
          d.sites[1].sip.trunk = 'sip:127.0.0.1:5090';
          delete d.sites[1].sip.wsPort;
        }),
      ).issues,
    ).toEqual([
      {
        path: 'sites[1].sip.trunk',
        message:
          'a site with an outbound trunk needs sip.wsPort: its dialer reaches Kamailio over the loopback WebSocket listener',
      },
    ]);
  });

  it('rejects a missing required field', () => {
    const err = errorOf(
      variant((d) => {
        delete d.sites[0].evapi;
      }),
    );
    expect(err.issues).toEqual([
      { path: 'sites[0].evapi', message: 'required field is missing (expected object)' },
    ]);
  });

  it('rejects wrong types', () => {
    const err = errorOf(
      variant((d) => {
        d.sites[0].sip.port = 'five thousand';
        d.skills[0].wrapUpSeconds = [5];
      }),
    );
    expect(err.issues).toEqual([
      { path: 'skills[0].wrapUpSeconds', message: 'expected number, got a list' },
      { path: 'sites[0].sip.port', message: 'expected number, got string "five thousand"' },
    ]);
  });

  it('rejects unknown fields, so a typo cannot silently drop a section', () => {
    const err = errorOf(
      variant((d) => {
        d.sites[0].agnets = d.sites[0].agents;
      }),
    );
    expect(err.issues).toEqual([{ path: 'sites[0]', message: 'unknown field "agnets"' }]);
  });

  it("checks each site's phone network at load, and gives a site without one loopback only", () => {
    const err = errorOf(
      variant((d) => {
        d.sites[1].phoneNetwork = ['10.20.0.0/16', '0.0.0.0/0', 'phones example'];
        d.sites[2].phoneNetwork = [];
      }),
    );
    expect(err.issues).toEqual([
      {
        path: 'sites[1].phoneNetwork[1]',
        message: 'the prefix of "0.0.0.0/0" must be a whole number from 1 to 32',
      },
      {
        path: 'sites[1].phoneNetwork[2]',
        message: expect.stringMatching(/^expected a CIDR block .*got "phones example"$/),
      },
      {
        path: 'sites[2].phoneNetwork',
        message: 'expected at least one CIDR block, address or host name',
      },
    ]);
    const t = loadTopology(
      variant((d) => {
        delete d.sites[0].phoneNetwork;
      }),
    );
    expect(t.sites[0]!.phoneNetwork).toEqual(['127.0.0.0/8', '::1/128']);
    expect(t.sites[1]!.phoneNetwork).toEqual(['127.0.0.0/8']);
  });

  it('caps reservations per origin at 10 unless the routing section says otherwise', () => {
    expect(
      loadTopology(
        variant((d) => {
          delete d.routing.maxReservationsPerOrigin;
        }),
      ).routing.maxReservationsPerOrigin,
    ).toBe(10);
    const err = errorOf(
      variant((d) => {
        d.routing.maxReservationsPerOrigin = 0;
      }),
    );
    expect(err.issues).toEqual([
      { path: 'routing.maxReservationsPerOrigin', message: 'expected at least 1 reservation' },
    ]);
  });

  it('ends a talking call a minute after its peer site went silent unless told otherwise, never under 47 s', () => {
    expect(
      loadTopology(
        variant((d) => {
          delete d.routing.talkingPeerSilenceSeconds;
        }),
      ).routing.talkingPeerSilenceSeconds,
    ).toBe(60);
    const err = errorOf(
      variant((d) => {
        d.routing.talkingPeerSilenceSeconds = 30;
      }),
    );
    expect(err.issues).toEqual([
      {
        path: 'routing.talkingPeerSilenceSeconds',
        message: 'expected at least 47 seconds (Kamailio keepalives no more often than every 30 s)',
      },
    ]);
  });

  it('rejects references to unknown tenants and sites in routing policy', () => {
    const err = errorOf(
      variant((d) => {
        d.routing.tenantRestrictions = [{ tenant: 'nobody', excludedSites: ['lhasa'] }];
      }),
    );
    expect(err.issues.map((i) => i.path)).toEqual([
      'routing.tenantRestrictions[0].tenant',
      'routing.tenantRestrictions[0].excludedSites[0]',
    ]);
  });

  it('rejects ids that could not be used safely in config files and SQL', () => {
    const err = errorOf(
      variant((d) => {
        d.sites[0].agents[0].id = 'sh-001"; drop';
      }),
    );
    expect(err.issues[0]?.path).toBe('sites[0].agents[0].id');
    expect(err.issues[0]?.message).toMatch(/expected an id/);
  });

  it('reports a YAML syntax error with its line', () => {
    const file = writeTemp('federation:\n  name: x\n  hqSite: [shanghai\nsites: []\n');
    const err = errorOf(file);
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]?.message).toMatch(/^YAML syntax error/);
    expect(err.issues[0]?.path).toMatch(/^line \d+, column \d+$/);
    expect(err.message).toContain(file);
  });

  it('reports a file that does not exist', () => {
    const err = errorOf('/nonexistent/topology.yaml');
    expect(err.message).toContain('/nonexistent/topology.yaml');
    expect(err.issues[0]?.message).toBe('cannot read the file (ENOENT)');
  });

  it('rejects a peer link that cannot work: unknown or same site, a pair twice, TLS without a TLS listener', () => {
    const err = errorOf(
      variant((d) => {
        delete d.sites[2].sip.tlsPort;
        d.peerLinks = [
          { sites: ['shanghai', 'lhasa'], transport: 'plain' },
          { sites: ['beijing', 'beijing'], transport: 'plain' },
          { sites: ['beijing', 'shanghai'], transport: 'plain' },
          { sites: ['shanghai', 'beijing'], transport: 'tls' },
          { sites: ['guangzhou', 'beijing'], transport: 'tls' },
        ];
      }),
    );
    expect(err.issues).toEqual([
      {
        path: 'peerLinks[0].sites[1]',
        message: 'unknown site "lhasa" (known: shanghai, beijing, guangzhou)',
      },
      { path: 'peerLinks[1].sites', message: 'a peer link joins two different sites' },
      {
        path: 'peerLinks[3].sites',
        message: 'beijing and shanghai already have a peer link (peerLinks[2])',
      },
      {
        path: 'peerLinks[4].transport',
        message: 'a TLS link needs sites[2] (guangzhou) to listen for TLS: give it sip.tlsPort',
      },
    ]);
  });

  it('takes trusted sources as IPv4 addresses with optional /bits and :port, nothing else', () => {
    const ok = loadTopology(
      variant((d) => {
        d.sites[0].trustedSources = ['10.20.0.0/16', '192.0.2.10:5060', '127.0.0.2/32:5099'];
      }),
    );
    expect(ok.sites[0]!.trustedSources).toHaveLength(3);
    const err = errorOf(
      variant((d) => {
        d.sites[0].trustedSources = ['ivr.example.com', '10.0.0.0/33', '1.2.3.4:70000'];
      }),
    );
    expect(err.issues.map((i) => i.path)).toEqual([
      'sites[0].trustedSources[0]',
      'sites[0].trustedSources[1]',
      'sites[0].trustedSources[2]',
    ]);
  });

  it("takes a skill's callback offer with agent-first and a 30 s ring by default, and names bad fields", () => {
    const t = loadTopology(
      variant((d) => {
        d.skills[0].callback = { offerAfterSeconds: 60, maxAttempts: 3, retryAfterSeconds: 300 };
      }),
    );
    expect(t.skills[0]!.callback).toEqual({
      offerAfterSeconds: 60,
      maxAttempts: 3,
      retryAfterSeconds: 300,
      order: 'agent_first',
      ringTimeoutSeconds: 30,
      serviceLevelSeconds: 1800,
    });
    expect(t.skills[1]!.callback).toBeUndefined();
    const err = errorOf(
      variant((d) => {
        d.skills[0].callback = {
          offerAfterSeconds: 0,
          maxAttempts: 0,
          retryAfterSeconds: 5,
          order: 'whenever',
        };
      }),
    );
    expect(err.issues.map((i) => i.path)).toEqual([
      'skills[0].callback.offerAfterSeconds',
      'skills[0].callback.maxAttempts',
      'skills[0].callback.retryAfterSeconds',
      'skills[0].callback.order',
    ]);
  });

  it('gives every site an rtpengine, numbers a language and skills a queue experience, with defaults', () => {
    const t = loadTopology(
      variant((d) => {
        delete d.sites[0].media;
        // out of the default range the first site now takes
        d.sites[1].media.rtpPorts = { min: 30000, max: 30999 };
        d.sites[2].media.rtpPorts = { min: 31000, max: 31999 };
        delete d.sites[0].numbers[1].language;
        delete d.skills[0].queueMedia;
      }),
    );
    expect(t.sites[0]!.media).toEqual({
      ngPort: 2223,
      ngHttpPort: 2225,
      dtmfPort: 2224,
      rtpPorts: { min: 20000, max: 29999 },
      ringback: 'cn',
    });
    expect(mediaHostOf(t.sites[0]!)).toBe('127.0.0.1');
    expect(t.sites[0]!.numbers[1]!.language).toBe('zh');
    expect(languageOfNumber(t, '400200200')).toBe('en');
    expect(languageOfNumber(t, '999')).toBe('zh');
    expect(t.skills[0]!.queueMedia).toEqual({ ringbackSeconds: 5, announceEverySeconds: 30 });
  });

  it('rejects rtpengine ports another listener or site holds, and RTP ranges that overlap', () => {
    const err = errorOf(
      variant((d) => {
        d.sites[1].media.ngPort = d.sites[0].media.dtmfPort;
        d.sites[1].media.dtmfPort = d.sites[0].sip.port;
        d.sites[2].media.rtpPorts = { min: 20500, max: 21499 };
        d.sites[0].media.rtpPorts = { min: 20001, max: 20002 };
        d.sites[0].numbers[0].language = 'fr';
      }),
    );
    expect(err.issues).toEqual(
      expect.arrayContaining([
        { path: 'sites[0].numbers[0].language', message: expect.stringContaining('zh') },
        {
          path: 'sites[0].media.rtpPorts',
          message: 'expected an even first port: RTP takes the even port, RTCP the next',
        },
        {
          path: 'sites[0].media.rtpPorts',
          message: 'expected at least 4 ports (one call: two parties, RTP and RTCP)',
        },
      ]),
    );
    const clash = errorOf(
      variant((d) => {
        d.sites[1].media.ngPort = d.sites[0].media.dtmfPort;
        d.sites[1].media.dtmfPort = d.sites[0].sip.port;
        d.sites[2].media.rtpPorts = { min: 20500, max: 21499 };
      }),
    );
    expect(clash.issues).toEqual([
      {
        path: 'sites[1].media.ngPort',
        message: '127.0.0.1:2224 is already used by sites[0] (shanghai) media.dtmfPort',
      },
      {
        path: 'sites[1].media.dtmfPort',
        message: '127.0.0.1:5060 is already used by sites[0] (shanghai) sip',
      },
      {
        path: 'sites[2].media.rtpPorts',
        message: '127.0.0.1:20500-21499 overlaps sites[0] (shanghai) RTP ports 20000-20999',
      },
    ]);
  });
});
