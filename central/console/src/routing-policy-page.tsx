// The routing policy in force, and HQ's form to change it: each skill's overflow threshold and
// minimum improvement, each site's handicap, staleness, reservation timeout and the sites each
// tenant's calls must never go to. The server checks an edit whole (docs/api.md): its problems
// show under their fields and in full above the form, and nothing is saved. A saved edit is with
// the router and the site agents at once and the page shows its new version. Site supervisors see
// the same figures read only; the server refuses their edits anyway.
import { Alert, Typography } from '@mui/material';
import { useEffect, useState } from 'react';
import {
  CheckboxGroupInput,
  Edit,
  NumberInput,
  SaveButton,
  SimpleForm,
  Toolbar,
  useNotify,
  useRecordContext,
} from 'react-admin';
import { ROUTING_POLICY } from './data-provider.js';
import { apiGet } from './session.js';

interface PolicyRecord {
  readonly id: string;
  readonly version: number;
  readonly changedBy: string;
  readonly changedAt: string;
  readonly skills: Record<
    string,
    { thresholdSeconds: number; minImprovementSeconds: number; askAfterWaitingSeconds?: number }
  >;
  readonly sites: Record<string, { handicapSeconds: number }>;
  readonly tenantExclusions: Record<string, string[]>;
}

interface TopologyNames {
  readonly sites: readonly { id: string; name: string }[];
  readonly tenants: readonly { id: string; name: string }[];
}

function VersionLine() {
  const policy = useRecordContext<PolicyRecord>();
  if (!policy) return null;
  return (
    <Typography data-testid="policy-version" sx={{ mb: 1 }}>
      Version {policy.version}, changed by {policy.changedBy}
      {policy.version > 0 ? ` at ${policy.changedAt}` : ''}
    </Typography>
  );
}

function PolicyFields({ readOnly, names }: { readOnly: boolean; names: TopologyNames | null }) {
  const policy = useRecordContext<PolicyRecord>();
  if (!policy) return null;
  const sites = names?.sites ?? Object.keys(policy.sites).map((id) => ({ id, name: id }));
  const tenants =
    names?.tenants ?? Object.keys(policy.tenantExclusions).map((id) => ({ id, name: id }));
  const number = (source: string, label: string) => (
    <NumberInput key={source} source={source} label={label} disabled={readOnly} />
  );
  return (
    <>
      <VersionLine />
      <Typography variant="h6">Overflow per skill</Typography>
      {Object.keys(policy.skills).map((skill) => (
        <div key={skill} style={{ display: 'flex', gap: 16 }} data-testid={`skill-${skill}`}>
          {number(`skills.${skill}.thresholdSeconds`, `${skill}: ask the router after (s)`)}
          {number(`skills.${skill}.minImprovementSeconds`, `${skill}: min improvement (s)`)}
          {number(`skills.${skill}.askAfterWaitingSeconds`, `${skill}: ask after waiting (s)`)}
        </div>
      ))}
      <Typography variant="h6">Handicap per site</Typography>
      <div style={{ display: 'flex', gap: 16, flexWrap: 'wrap' }}>
        {sites.map((s) => number(`sites.${s.id}.handicapSeconds`, `${s.name} handicap (s)`))}
      </div>
      <Typography variant="h6">Router</Typography>
      <div style={{ display: 'flex', gap: 16 }}>
        {number('staleAfterSeconds', 'site figures stale after (s)')}
        {number('reservationTimeoutSeconds', 'reservation timeout (s)')}
      </div>
      <Typography variant="h6">Sites each tenant's calls never go to</Typography>
      {tenants.map((t) => (
        <CheckboxGroupInput
          key={t.id}
          source={`tenantExclusions.${t.id}`}
          label={t.name}
          choices={sites.map((s) => ({ id: s.id, name: s.name }))}
          disabled={readOnly}
        />
      ))}
    </>
  );
}

/** HQ edits; a site supervisor reads (`readOnly`). */
export function RoutingPolicyPage({ readOnly }: { readOnly: boolean }) {
  const notify = useNotify();
  const [problem, setProblem] = useState<string | null>(null);
  const [names, setNames] = useState<TopologyNames | null>(null);
  useEffect(() => {
    // Site and tenant names for labels; without them the ids are shown.
    apiGet<TopologyNames>('/topology').then(setNames, () => setNames(null));
  }, []);
  return (
    <Edit
      resource={ROUTING_POLICY.resource}
      id={ROUTING_POLICY.id}
      title="Routing policy"
      actions={false}
      redirect={false}
      mutationMode="pessimistic"
      mutationOptions={{
        onSuccess: (data: PolicyRecord) => {
          setProblem(null);
          notify(`Routing policy saved: version ${data.version}, in force now`, {
            type: 'success',
          });
        },
        onError: (error: unknown) => {
          setProblem(error instanceof Error ? error.message : String(error));
        },
      }}
    >
      {problem && (
        <Alert severity="error" data-testid="policy-problem" sx={{ m: 2 }}>
          Nothing was saved. {problem}
        </Alert>
      )}
      <SimpleForm
        toolbar={
          readOnly ? (
            false
          ) : (
            <Toolbar>
              <SaveButton label="Save policy" />
            </Toolbar>
          )
        }
      >
        <PolicyFields readOnly={readOnly} names={names} />
      </SimpleForm>
    </Edit>
  );
}

export function RoutingPolicyEditPage() {
  return <RoutingPolicyPage readOnly={false} />;
}

export function RoutingPolicyReadPage() {
  return <RoutingPolicyPage readOnly />;
}
