import { readFileSync } from 'node:fs';
import { parseTopology } from '@ccfed/topology';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEFAULT_TUNING, kamailioConfig, kamailioSideFiles } from './generate.js';

const EXAMPLE = new URL('../../../topology/example.yaml', import.meta.url).pathname;

function topology(mutate: (doc: any) => void = () => {}) {
  const doc = parse(readFileSync(EXAMPLE, 'utf8'));
  mutate(doc);
  return parseTopology(stringify(doc), EXAMPLE);
}

const TLS = { ca: '/pki/ca.crt', cert: '/pki/site/beijing.crt', key: '/pki/site/beijing.key' };

describe("a site's Kamailio files", () => {
  it('lists peer sites on plain links by address and trusted sources in address.list', () => {
    const t = topology((doc) => {
      doc.peerLinks = [{ sites: ['beijing', 'guangzhou'], transport: 'tls' }];
      doc.sites[1].trustedSources = ['10.20.0.0/16', '192.0.2.10:5060'];
    });
    const list = kamailioSideFiles(t, 'beijing', TLS)['address.list']!;
    const records = list.split('\n').filter((l) => l && !l.startsWith('#'));
    // Shanghai is a plain peer (its SIP listener); Guangzhou is trusted by certificate only.
    expect(records).toEqual([
      '1 127.0.0.1 32 5060 shanghai',
      '2 10.20.0.0 16 0 trusted',
      '2 192.0.2.10 32 5060 trusted',
    ]);
  });

  it('gives a site with a TLS listener tls.cfg with its certificate, requiring the peer’s', () => {
    const files = kamailioSideFiles(topology(), 'beijing', TLS);
    const tls = files['tls.cfg']!;
    expect(tls).toContain('[server:default]');
    expect(tls).toContain('verify_client = on');
    expect(tls).toContain('[client:default]');
    expect(tls).toContain('verify_certificate = yes');
    expect(tls.match(/certificate = \/pki\/site\/beijing\.crt/g)).toHaveLength(2);
    expect(tls.match(/ca_list = \/pki\/ca\.crt/g)).toHaveLength(2);
    expect(
      kamailioSideFiles(
        topology((doc) => {
          for (const s of doc.sites) delete s.sip.tlsPort;
          doc.peerLinks = [];
        }),
        'beijing',
      )['tls.cfg'],
    ).toBeUndefined();
  });

  it('defines the TLS listener, the TLS peers, the own numbers and the flood limit', () => {
    const cfg = kamailioConfig(topology(), 'beijing', undefined, '');
    expect(cfg).toContain('#!substdef "!SIP_TLS_PORT!5071!g"');
    expect(cfg).toContain('#!substdef "!TLS_PEERS!shanghai|guangzhou!g"');
    expect(cfg).toContain('#!substdef "!SITE_NUMBERS!400200100|400200200|400200300|400200400!g"');
    expect(cfg).toContain('#!substdef "!INVITE_DENSITY!40!g"');
    expect(cfg).toContain('#!define WITH_TLS');
  });

  it('refuses a certificate path that would break tls.cfg', () => {
    expect(() => kamailioSideFiles(topology(), 'beijing', { ...TLS, key: '/pki/a key' })).toThrow(
      /cannot go into tls.cfg/,
    );
  });

  it('takes browser agents on its WebSocket listener, with its domain and its own secret', () => {
    const cfg = kamailioConfig(topology(), 'beijing', undefined, '');
    expect(cfg).toContain('#!define WITH_WEBSOCKET');
    expect(cfg).toContain('#!substdef "!WS_PORT!5072!g"');
    expect(cfg).toContain('#!substdef "!SIP_DOMAIN!beijing.ccfed.invalid!g"');
    expect(cfg).not.toContain('WITH_WSS');
    const secret = 'c2l0ZS1zZWNyZXQtZm9yLWJlaWppbmc=';
    const files = kamailioSideFiles(topology(), 'beijing', TLS, secret);
    expect(files['agent-secret.cfg']).toContain(
      `modparam("auth_ephemeral", "secret", "${secret}")`,
    );
    // the secret is in its own file, never in kamailio.cfg
    expect(cfg).not.toContain(secret);
    expect(() => kamailioSideFiles(topology(), 'beijing', TLS, 'a"b')).toThrow(/agent secret/);
  });

  it('asks browsers on wss for no client certificate, unlike peer sites on the TLS listener', () => {
    const t = topology((doc) => {
      doc.sites[1].sip.wssPort = 5073;
      doc.sites[1].sip.domain = 'sip.beijing.example.com';
    });
    const cfg = kamailioConfig(t, 'beijing', undefined, '');
    expect(cfg).toContain('#!define WITH_WSS');
    expect(cfg).toContain('#!substdef "!SIP_DOMAIN!sip.beijing.example.com!g"');
    const tls = kamailioSideFiles(t, 'beijing', TLS)['tls.cfg']!;
    const wss = tls.slice(tls.indexOf('[server:127.0.0.1:5073]'), tls.indexOf('[server:default]'));
    expect(wss).toContain('verify_client = off');
    expect(tls.slice(tls.indexOf('[server:default]'))).toContain('verify_client = on');
    // without a certificate of its own the wss listener presents the site's
    expect(wss).toContain(`certificate = ${TLS.cert}`);
  });

  it("presents a browser-trusted certificate on wss and the site's to peer sites", () => {
    const t = topology((doc) => {
      doc.sites[1].sip.wssPort = 5073;
    });
    const tls = kamailioSideFiles(t, 'beijing', TLS, undefined, {
      cert: '/wss/tls.crt',
      key: '/wss/tls.key',
    })['tls.cfg']!;
    const wss = tls.slice(tls.indexOf('[server:127.0.0.1:5073]'), tls.indexOf('[server:default]'));
    expect(wss).toContain('certificate = /wss/tls.crt');
    expect(wss).toContain('private_key = /wss/tls.key');
    const peers = tls.slice(tls.indexOf('[server:default]'));
    expect(peers).toContain(`certificate = ${TLS.cert}`);
    expect(peers).not.toContain('/wss/');
  });

  it('tells a wss listener on every address apart by the name browsers ask for (SNI)', () => {
    // Kamailio matches [server:<ip>:<port>] against the connection's local address, never 0.0.0.0
    // (tried: such a domain is skipped and browsers would be asked for a client certificate).
    const t = topology((doc) => {
      doc.sites[1].sip.host = '0.0.0.0';
      doc.sites[1].sip.wssPort = 5073;
      doc.sites[1].sip.wssHost = 'sip.beijing.example.com';
    });
    const tls = kamailioSideFiles(t, 'beijing', TLS)['tls.cfg']!;
    expect(tls).toContain('[server:any]\nserver_name = sip.beijing.example.com\n');
    expect(tls).not.toContain('[server:0.0.0.0:');
    const noName = topology((doc) => {
      doc.sites[1].sip.host = '0.0.0.0';
      doc.sites[1].sip.wssPort = 5073;
    });
    expect(() => kamailioSideFiles(noName, 'beijing', TLS)).toThrow(/needs sip.wssHost/);
  });

  it('has no WebSocket listener for a site without wsPort or wssPort', () => {
    const t = topology((doc) => {
      delete doc.sites[1].sip.wsPort;
    });
    expect(kamailioConfig(t, 'beijing', undefined, '')).not.toContain('WITH_WEBSOCKET');
    expect(kamailioSideFiles(t, 'beijing', TLS)['agent-secret.cfg']).toBeUndefined();
  });

  it('refuses a ring timeout that, with one refresh, would outlast the peers’ silence limit', () => {
    const t = topology((doc) => {
      doc.routing.peerSilenceSeconds = 12;
    });
    // 12 s: refreshes every 2 s, so an agent may ring for less than 10 s.
    expect(kamailioConfig(t, 'beijing', { ...DEFAULT_TUNING, ringTimeoutMs: 9_000 }, '')).toContain(
      'RING_TIMEOUT_MS!9000',
    );
    expect(() =>
      kamailioConfig(t, 'beijing', { ...DEFAULT_TUNING, ringTimeoutMs: 10_000 }, ''),
    ).toThrow(
      /ring timeout 10000 ms plus a refresh interval of 2000 ms reaches routing.peerSilenceSeconds \(12 s\)/,
    );
  });

  it('keepalives a talking call across sites so that a silent peer ends it within talkingPeerSilenceSeconds', () => {
    // the default, a minute: a keepalive every 43 s, and 17 s for a lost one to end the call
    expect(kamailioConfig(topology(), 'beijing', undefined, '')).toContain(
      '#!substdef "!KEEPALIVE_INTERVAL_S!43!g"',
    );
    const shortest = topology((doc) => {
      doc.routing.talkingPeerSilenceSeconds = 47;
    });
    expect(kamailioConfig(shortest, 'beijing', undefined, '')).toContain(
      '#!substdef "!KEEPALIVE_INTERVAL_S!30!g"',
    );
    // Kamailio keepalives no more often than every 30 s: a shorter bound cannot be kept
    expect(() =>
      topology((doc) => {
        doc.routing.talkingPeerSilenceSeconds = 46;
      }),
    ).toThrow(/routing\.talkingPeerSilenceSeconds.*at least 47 seconds/s);
  });
});
