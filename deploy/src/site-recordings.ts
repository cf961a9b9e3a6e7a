// What a contact-center site needs to record calls (docs/media.md, "Recording"): a persistent
// volume for the sealed recordings (and rtpengine's pcap spool, on the same volume so the site
// agent reads and deletes the pcaps once sealed), and the site's recording keys as a read-only
// file from a Secret of their own. ContactCenterSite adds these to the site's pod.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { parseRecordingKeys } from '@ccfed/site-agent/recording/recording-keys';
import { secretData } from './kube.js';

/** Where recording lives in the site's pod. */
export const RECORDING_PATHS = {
  /** The recordings volume: CCFED_RECORDING_DIR (store/ and work/ under it). */
  dir: '/var/lib/ccfed-recordings',
  /** rtpengine's --recording-dir on the same volume (CCFED_RTPENGINE_RECORDING_DIR). */
  spool: '/var/lib/ccfed-recordings/spool',
  keysDir: '/etc/ccfed/recording-keys',
  keysFile: '/etc/ccfed/recording-keys/keys.json',
} as const;

/** The volume claim's name: rtpengine's container mounts it too (at RECORDING_PATHS.dir). */
export const RECORDINGS_VOLUME = 'recordings';

export interface SiteRecordingArgs {
  /**
   * The site's recording key file (JSON: {"current": id, "keys": {id: base64 of 32 bytes}}),
   * checked here; without it the site records and plays nothing.
   */
  readonly recordingKeys?: pulumi.Input<string>;
  /** Size of the recordings volume in GiB. Default 50 (about 450 hours of stereo G.711 WAV). */
  readonly recordingVolumeGi?: number;
}

export interface SiteRecordingParts {
  readonly volumeClaim: k8s.types.input.core.v1.PersistentVolumeClaim;
  /** The site agent's mounts: the recordings volume, and the keys when given. */
  readonly agentMounts: k8s.types.input.core.v1.VolumeMount[];
  readonly volumes: k8s.types.input.core.v1.Volume[];
  /** The site agent's plain env. */
  readonly env: Record<string, string>;
}

/** `text` when it is a usable recording key file; throws naming the site and the problem. */
export function checkRecordingKeys(text: string, siteId: string): string {
  // The same check the site agent makes at start, here before anything is deployed.
  parseRecordingKeys(text, `site ${siteId}: recordingKeys`);
  return text;
}

/** The recording parts of site `siteId`'s pod; throws naming the site for a bad argument. */
export function siteRecordings(
  name: string,
  siteId: string,
  args: SiteRecordingArgs & {
    readonly namespace: pulumi.Input<string>;
    readonly labels: Record<string, string>;
    readonly storageClassName?: pulumi.Input<string>;
    /** The site's rtpengine's ng control address in the pod (loopback). */
    readonly rtpengineNg: string;
  },
  opts: pulumi.CustomResourceOptions,
): SiteRecordingParts {
  const gi = args.recordingVolumeGi ?? 50;
  if (!(gi >= 1))
    throw new Error(`site ${siteId}: recordingVolumeGi must be at least 1, got ${gi}`);
  const volumeClaim: k8s.types.input.core.v1.PersistentVolumeClaim = {
    metadata: { name: RECORDINGS_VOLUME, labels: args.labels },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: args.storageClassName,
      resources: { requests: { storage: `${gi}Gi` } },
    },
  };
  const recordingsMount = { name: RECORDINGS_VOLUME, mountPath: RECORDING_PATHS.dir };
  const env: Record<string, string> = { CCFED_RECORDING_DIR: RECORDING_PATHS.dir };
  if (args.recordingKeys === undefined)
    return { volumeClaim, agentMounts: [recordingsMount], volumes: [], env };

  const keys = new k8s.core.v1.Secret(
    `${name}-recording-keys`,
    {
      metadata: {
        name: `ccfed-site-${siteId}-recording-keys`,
        namespace: args.namespace,
        labels: args.labels,
      },
      type: 'Opaque',
      stringData: secretData({
        'keys.json': pulumi
          .output(args.recordingKeys)
          .apply((text) => checkRecordingKeys(text, siteId)),
      }),
    },
    opts,
  );
  return {
    volumeClaim,
    agentMounts: [
      recordingsMount,
      { name: 'recording-keys', mountPath: RECORDING_PATHS.keysDir, readOnly: true },
    ],
    volumes: [
      {
        name: 'recording-keys',
        // Readable by the pod's group only: the site agent refuses a key file every user may read.
        secret: {
          secretName: keys.metadata.name,
          defaultMode: 0o440,
          items: [{ key: 'keys.json', path: 'keys.json' }],
        },
      },
    ],
    env: {
      ...env,
      CCFED_RECORDING_KEYS_FILE: RECORDING_PATHS.keysFile,
      CCFED_RTPENGINE_NG: args.rtpengineNg,
      CCFED_RTPENGINE_RECORDING_DIR: RECORDING_PATHS.spool,
    },
  };
}
