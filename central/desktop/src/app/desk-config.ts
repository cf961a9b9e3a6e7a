// What the desk offers the agent to choose from, from the federation's topology: not-ready
// reasons, dispositions, and the skills and sites a call may be transferred to.
import { apiGet } from '@ccfed/console/session';

export interface DeskConfig {
  readonly notReadyReasons: readonly { readonly code: string; readonly label: string }[];
  readonly dispositions: readonly { readonly code: string; readonly label: string }[];
  readonly transferTargets: readonly { readonly siteId: string; readonly skill: string }[];
}

export function loadDeskConfig(): Promise<DeskConfig> {
  return apiGet<DeskConfig>('/desktop/config');
}
