// Fixtures shared by the deploy tests: a three-site topology shaped for Kubernetes and walkers
// over the declared Kubernetes objects.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { DeclaredResource } from './pulumi-mocks.js';

/** topology/example.yaml: three sites. */
export const EXAMPLE_TOPOLOGY = new URL('../../../topology/example.yaml', import.meta.url).pathname;

/**
 * topology/example.yaml (three sites) with SIP and gRPC on 0.0.0.0, as a deployment's topology
 * has them (no Service reaches loopback in a pod). Returns the path of the written file.
 */
export function writeClusterTopology(): string {
  const text = readFileSync(EXAMPLE_TOPOLOGY, 'utf8')
    .replaceAll('sip: { host: 127.0.0.1,', 'sip: { host: 0.0.0.0,')
    .replaceAll('grpc: { host: 127.0.0.1,', 'grpc: { host: 0.0.0.0,');
  const file = join(mkdtempSync(join(tmpdir(), 'ccfed-deploy-')), 'topology.yaml');
  writeFileSync(file, text);
  return file;
}

export interface DeclaredContainer {
  readonly name: string;
  readonly image: unknown;
  readonly command?: string[];
  readonly env?: {
    name: string;
    value?: unknown;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
  }[];
  readonly ports?: { name: string; containerPort: number; protocol: string }[];
  readonly volumeMounts?: { name: string; mountPath: string }[];
  readonly readinessProbe?: unknown;
}

/** The containers of a declared Deployment, StatefulSet or Job. */
export function containersOf(r: DeclaredResource): DeclaredContainer[] {
  const spec = r.inputs.spec as { template: { spec: { containers: DeclaredContainer[] } } };
  return spec.template.spec.containers;
}

export function container(r: DeclaredResource, name: string): DeclaredContainer {
  const c = containersOf(r).find((x) => x.name === name);
  if (!c) throw new Error(`${r.type} ${r.name} has no container ${name}`);
  return c;
}

/** An env var's plain value; fails the test when it is missing or comes from elsewhere. */
export function envValue(c: DeclaredContainer, name: string): unknown {
  const e = c.env?.find((x) => x.name === name);
  expect(e, `${c.name} env ${name}`).toBeDefined();
  expect(e?.valueFrom, `${c.name} env ${name} is a literal`).toBeUndefined();
  return e?.value;
}

/** Name of the Secret and key an env var reads; fails the test when it is a literal. */
export function envSecretRef(
  c: DeclaredContainer,
  name: string,
): { name: string; key: string } | undefined {
  const e = c.env?.find((x) => x.name === name);
  expect(e, `${c.name} env ${name}`).toBeDefined();
  expect(e?.value, `${c.name} env ${name} has no literal value`).toBeUndefined();
  return e?.valueFrom?.secretKeyRef;
}

export function byMetadataName(list: readonly DeclaredResource[], name: string): DeclaredResource {
  const r = list.find((x) => (x.inputs.metadata as { name?: string } | undefined)?.name === name);
  if (!r)
    throw new Error(`no declared object named ${name} among ${list.map((x) => x.name).join(', ')}`);
  return r;
}

/**
 * Every place a value could leak in plain sight: each ConfigMap data value and each container
 * env literal (Deployments, StatefulSets, Jobs), as strings.
 */
export function plainTexts(
  declared: readonly DeclaredResource[],
): { where: string; text: string }[] {
  const out: { where: string; text: string }[] = [];
  for (const r of declared) {
    if (r.type === 'kubernetes:core/v1:ConfigMap') {
      for (const [k, v] of Object.entries((r.inputs.data ?? {}) as Record<string, unknown>)) {
        out.push({ where: `${r.name} data.${k}`, text: JSON.stringify(v) });
      }
    }
    if (
      [
        'kubernetes:apps/v1:Deployment',
        'kubernetes:apps/v1:StatefulSet',
        'kubernetes:batch/v1:Job',
      ].includes(r.type)
    ) {
      for (const c of containersOf(r)) {
        for (const e of c.env ?? []) {
          if (e.value !== undefined)
            out.push({ where: `${r.name} ${c.name} env ${e.name}`, text: JSON.stringify(e.value) });
        }
        out.push({ where: `${r.name} ${c.name} command`, text: JSON.stringify(c.command ?? []) });
      }
    }
  }
  return out;
}
