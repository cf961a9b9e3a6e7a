// The HQ console: react-admin over the central API, served by the API itself from dist/.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient } from '@tanstack/react-query';
import type { ComponentType, ReactElement } from 'react';
import { Admin, Authenticated, Resource } from 'react-admin';
import { authProvider } from './auth-provider.js';
import { dataProvider, ROUTING_POLICY } from './data-provider.js';
import { DecisionExplorer } from './decision-explorer.js';
import { LiveWall } from './live-wall.js';
import { CallbacksPage, CrossSellPage, KpiPage, SatisfactionPage } from './pages.js';
import { ChurnModelsPage, RetentionPage, StaffingPage } from './planning-pages.js';
import { ApiError, type Identity } from './session.js';
import { CampaignsPage } from './campaigns-page.js';
import { PendingCallbacksPage } from './pending-callbacks-page.js';
import { RecordingsPage } from './recordings-page.js';
import { RoutingPolicyEditPage, RoutingPolicyReadPage } from './routing-policy-page.js';
import { TopologyPage } from './topology-page.js';

// A refused request (4xx: bad token, bad filter, not allowed) is answered the same the second
// time; retrying it only delays the log-in page or the error message by seconds.
const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (failures, error) =>
        !(error instanceof ApiError && error.status < 500) &&
        !(error instanceof Error && /log in/i.test(error.message)) &&
        failures < 2,
    },
  },
});

/**
 * A page that first asks the server whether the session still holds (checkAuth → GET /me), and
 * sends the browser to the log-in page when not. Admin's own requireAuth is not used: with it,
 * react-admin 5.15 bounced between the log-in route and itself for seconds before settling.
 */
function authenticated(Page: ComponentType): () => ReactElement {
  return function AuthenticatedPage() {
    return (
      <Authenticated>
        <Page />
      </Authenticated>
    );
  };
}

const Wall = authenticated(LiveWall);
const Kpis = authenticated(KpiPage);
const Callbacks = authenticated(CallbacksPage);
const CrossSell = authenticated(CrossSellPage);
const Satisfaction = authenticated(SatisfactionPage);
const Decisions = authenticated(DecisionExplorer);
const Staffing = authenticated(StaffingPage);
const ChurnModels = authenticated(ChurnModelsPage);
const Retention = authenticated(RetentionPage);
const Topology = authenticated(TopologyPage);
const Recordings = authenticated(RecordingsPage);
const PolicyEdit = authenticated(RoutingPolicyEditPage);
const PolicyRead = authenticated(RoutingPolicyReadPage);
const Campaigns = authenticated(CampaignsPage);
const PendingCallbacks = authenticated(PendingCallbacksPage);

/** The roles the campaign and callback routes admit: supervisors, never agents. */
const SUPERVISORS: readonly (Identity['role'] | undefined)[] = ['hq', 'site', 'tenant'];

function App() {
  return (
    <Admin
      title="ccfed console"
      authProvider={authProvider}
      dataProvider={dataProvider}
      queryClient={queryClient}
      dashboard={Wall}
      disableTelemetry
    >
      {(role: Identity['role'] | undefined) => (
        <>
          <Resource name="kpis" list={Kpis} options={{ label: 'KPIs' }} />
          <Resource name="callbacks" list={Callbacks} options={{ label: 'Churn call-backs' }} />
          <Resource name="churn-models" list={ChurnModels} options={{ label: 'Churn models' }} />
          <Resource name="retention" list={Retention} options={{ label: 'Retention uplift' }} />
          <Resource name="staffing" list={Staffing} options={{ label: 'Staffing' }} />
          <Resource name="cross-sell" list={CrossSell} options={{ label: 'Cross-sell rules' }} />
          <Resource name="satisfaction" list={Satisfaction} options={{ label: 'Satisfaction' }} />
          <Resource name="decisions" list={Decisions} options={{ label: 'Routing decisions' }} />
          <Resource name="recordings" list={Recordings} options={{ label: 'Recordings' }} />
          <Resource name="topology" list={Topology} options={{ label: 'Topology' }} />
          {SUPERVISORS.includes(role) ? (
            <>
              <Resource name="campaigns" list={Campaigns} options={{ label: 'Campaigns' }} />
              <Resource
                name="pending-callbacks"
                list={PendingCallbacks}
                options={{ label: 'Callbacks' }}
              />
            </>
          ) : null}
          {/* HQ edits the routing policy, a site supervisor reads it, a tenant never sees it. */}
          {role === 'hq' || role === 'site' ? (
            <Resource
              name={ROUTING_POLICY.resource}
              list={role === 'hq' ? PolicyEdit : PolicyRead}
              options={{ label: 'Routing policy' }}
            />
          ) : null}
        </>
      )}
    </Admin>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
