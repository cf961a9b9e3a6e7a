// The Pulumi program: reads the stack's config, then declares the federation it describes.
import * as pulumi from '@pulumi/pulumi';
import { deployFederation } from './federation.js';
import { DEPLOY_DIR, readStackSettings } from './stack-config.js';

const federation = deployFederation(readStackSettings(new pulumi.Config('ccfed'), DEPLOY_DIR));

export const routerAddress = federation.hub.routerAddress;
export const apiUrl = federation.hub.apiUrl;
export const sites = Object.fromEntries(
  federation.sites.map((s) => [
    s.siteId,
    {
      sipUdp: s.sipUdpService.status.loadBalancer.ingress,
      sipTcp: s.sipTcpService.status.loadBalancer.ingress,
      grpcService: s.grpcService.metadata.name,
    },
  ]),
);
