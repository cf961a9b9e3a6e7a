// The Grafana provisioning files (dashboards JSON and provisioning YAML) that dashboards/ builds,
// gathered into one ConfigMap's data. The files are read when the program runs; nothing here
// builds a dashboard.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Kubernetes refuses a ConfigMap over 1 MiB; stay clear of it with room for metadata. */
const CONFIGMAP_MAX_BYTES = 1000 * 1024;
const PROVISIONING_FILE = /\.(json|ya?ml)$/;
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * Every .json/.yaml/.yml file under `dir` (recursively), keyed by file name. Throws naming the
 * directory when it is missing or empty, when two files share a name, or when the total is too
 * big for a ConfigMap.
 */
export function readGrafanaProvisioning(dir: string): Record<string, string> {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    throw new Error(
      `grafana provisioning directory ${dir} does not exist; build the dashboards first (dashboards/) or correct the path`,
    );
  }
  const data: Record<string, string> = {};
  const from: Record<string, string> = {};
  let bytes = 0;
  for (const file of listFiles(dir)) {
    const rel = relative(dir, file);
    const key = rel.split('/').pop() ?? rel;
    if (!PROVISIONING_FILE.test(key)) continue;
    if (!CONFIGMAP_KEY.test(key)) {
      throw new Error(`grafana provisioning file ${rel}: the name cannot be a ConfigMap key`);
    }
    const previous = from[key];
    if (previous !== undefined) {
      throw new Error(
        `grafana provisioning files ${previous} and ${rel} have the same name; the ConfigMap needs distinct names`,
      );
    }
    const text = readFileSync(file, 'utf8');
    bytes += Buffer.byteLength(text, 'utf8');
    data[key] = text;
    from[key] = rel;
  }
  if (Object.keys(data).length === 0) {
    throw new Error(`grafana provisioning directory ${dir} holds no .json, .yaml or .yml file`);
  }
  if (bytes > CONFIGMAP_MAX_BYTES) {
    throw new Error(
      `grafana provisioning files in ${dir} total ${bytes} bytes, more than a ConfigMap holds (${CONFIGMAP_MAX_BYTES})`,
    );
  }
  return data;
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
