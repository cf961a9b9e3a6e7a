// The HQ console: react-admin over the central API, served by the API itself from dist/.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Admin, Resource } from 'react-admin';
import { authProvider } from './auth-provider.js';
import { dataProvider } from './data-provider.js';
import { DecisionExplorer } from './decision-explorer.js';
import { LiveWall } from './live-wall.js';
import { CallbacksPage, CrossSellPage, KpiPage, SatisfactionPage } from './pages.js';
import { TopologyPage } from './topology-page.js';

function App() {
  return (
    <Admin
      title="ccfed console"
      authProvider={authProvider}
      dataProvider={dataProvider}
      dashboard={LiveWall}
      requireAuth
      disableTelemetry
    >
      <Resource name="kpis" list={KpiPage} options={{ label: 'KPIs' }} />
      <Resource name="callbacks" list={CallbacksPage} options={{ label: 'Churn call-backs' }} />
      <Resource name="cross-sell" list={CrossSellPage} options={{ label: 'Cross-sell rules' }} />
      <Resource name="satisfaction" list={SatisfactionPage} options={{ label: 'Satisfaction' }} />
      <Resource name="decisions" list={DecisionExplorer} options={{ label: 'Routing decisions' }} />
      <Resource name="topology" list={TopologyPage} options={{ label: 'Topology' }} />
    </Admin>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
