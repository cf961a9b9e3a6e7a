// The federation as configured: sites and their agents, skills, tenants and the routing policy in
// force (the topology file's, or the latest version HQ saved). Read only: HQ edits the routing
// policy on its own page (routing-policy-page.tsx).
import { Card, CardContent, Typography } from '@mui/material';
import { useEffect, useState } from 'react';
import { Title, useLogout } from 'react-admin';
import { RowsTable } from './rows-table.js';
import { ApiError, apiGet } from './session.js';

interface TopologyView {
  readonly sites: readonly {
    readonly id: string;
    readonly name: string;
    readonly timezone: string;
    readonly handicapSeconds: number;
    readonly agents: readonly {
      id: string;
      name: string;
      tenant: string;
      skills: Record<string, number>;
    }[];
  }[];
  readonly skills: readonly Record<string, unknown>[];
  readonly tenants: readonly { id: string; name: string }[];
  readonly routing: Record<string, unknown>;
  readonly policyVersion: number;
}

export function TopologyPage() {
  const [view, setView] = useState<TopologyView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const logout = useLogout();
  useEffect(() => {
    apiGet<TopologyView>('/topology').then(setView, (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) return void logout();
      if (err instanceof ApiError && err.status === 404) {
        return void setError('This API was started without a topology file (CCFED_TOPOLOGY).');
      }
      setError(String((err as Error).message));
    });
  }, [logout]);
  return (
    <Card>
      <Title title="Topology" />
      <CardContent>
        {error && <p data-testid="error">{error}</p>}
        {view && (
          <>
            <Typography variant="h6">Sites</Typography>
            <RowsTable
              rows={view.sites.map((s) => ({ ...s, agents: s.agents.length }))}
              testId="topology-sites"
            />
            {view.sites.map((s) => (
              <div key={s.id}>
                <Typography variant="subtitle1" sx={{ mt: 2 }}>
                  Agents at {s.name} ({s.id})
                </Typography>
                <RowsTable
                  rows={s.agents.map((a) => ({
                    ...a,
                    skills: Object.entries(a.skills)
                      .map(([k, v]) => `${k}:${v}`)
                      .join(' '),
                  }))}
                />
              </div>
            ))}
            <Typography variant="h6" sx={{ mt: 2 }}>
              Skills
            </Typography>
            <RowsTable rows={view.skills} />
            <Typography variant="h6" sx={{ mt: 2 }}>
              Tenants
            </Typography>
            <RowsTable rows={view.tenants} />
            <Typography variant="h6" sx={{ mt: 2 }}>
              Routing policy
            </Typography>
            <Typography variant="body2" data-testid="topology-policy-version">
              {view.policyVersion === 0
                ? 'As the topology file says (version 0).'
                : `Version ${view.policyVersion}, as HQ last saved it; handicaps and skills' overflow above are this version's.`}
            </Typography>
            <pre>{JSON.stringify(view.routing, null, 2)}</pre>
          </>
        )}
      </CardContent>
    </Card>
  );
}
