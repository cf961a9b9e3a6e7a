// The Grafana files dashboards/ builds (dashboard JSON, provisioning YAML), gathered into one
// ConfigMap per directory so that a Grafana deployment mounts each where Grafana expects it
// (dashboards/README.md: provisioning/datasources and provisioning/dashboards under
// /etc/grafana/provisioning, the JSON under /var/lib/grafana/dashboards/ccfed). The files are read
// when the program runs; nothing here builds a dashboard.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Kubernetes refuses a ConfigMap over 1 MiB; stay clear of it with room for metadata. */
const CONFIGMAP_MAX_BYTES = 1000 * 1024;
const GRAFANA_FILE = /\.(json|ya?ml)$/;
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]+$/;
const DIRECTORY = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** The Grafana files of one directory, relative to the root given (`''` for the root itself). */
export interface GrafanaDirectory {
  readonly dir: string;
  /** ConfigMap name suffix: the directory path with `/` as `-` (`provisioning-datasources`). */
  readonly suffix: string;
  readonly files: Record<string, string>;
}

/**
 * Every .json/.yaml/.yml file under `dir`, grouped by the directory it is in. Throws naming the
 * directory when it is missing or holds no such file, and naming a file or directory whose name
 * cannot become a ConfigMap key or name, or a directory too big for one ConfigMap.
 */
export function readGrafanaFiles(dir: string): GrafanaDirectory[] {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    throw new Error(
      `grafana directory ${dir} does not exist; build the dashboards first (npm run dashboards:build) or correct the path`,
    );
  }
  const groups = new Map<string, Record<string, string>>();
  for (const file of listFiles(dir)) {
    const rel = relative(dir, file);
    const parts = rel.split('/');
    const name = parts.pop() ?? rel;
    if (!GRAFANA_FILE.test(name)) continue;
    if (!CONFIGMAP_KEY.test(name)) {
      throw new Error(`grafana file ${rel}: the name cannot be a ConfigMap key`);
    }
    const bad = parts.find((p) => !DIRECTORY.test(p));
    if (bad !== undefined) {
      throw new Error(
        `grafana file ${rel}: directory "${bad}" cannot be part of a ConfigMap name (lowercase letters, digits, "-")`,
      );
    }
    const group = groups.get(parts.join('/')) ?? {};
    group[name] = readFileSync(file, 'utf8');
    groups.set(parts.join('/'), group);
  }
  if (groups.size === 0) {
    throw new Error(`grafana directory ${dir} holds no .json, .yaml or .yml file`);
  }
  return [...groups].map(([rel, files]) => {
    const bytes = Object.values(files).reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0);
    if (bytes > CONFIGMAP_MAX_BYTES) {
      throw new Error(
        `grafana files in ${join(dir, rel)} total ${bytes} bytes, more than a ConfigMap holds (${CONFIGMAP_MAX_BYTES})`,
      );
    }
    return { dir: rel, suffix: rel.replaceAll('/', '-'), files };
  });
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return listFiles(path);
      return e.isFile() ? [path] : [];
    });
}
