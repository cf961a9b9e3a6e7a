// Every dashboard ccfed provisions, in the order they are listed in Grafana.
import { agentPerformance } from './agent-performance.js';
import { analytics } from './analytics.js';
import { overview } from './overview.js';
import type { DashboardSpec } from './panel.js';
import { siteDetail } from './site-detail.js';
import { staffing } from './staffing.js';

export const DASHBOARDS: readonly DashboardSpec[] = [
  overview,
  siteDetail,
  agentPerformance,
  analytics,
  staffing,
];
