// The fitted analytics: each tenant's churn model, the retention uplift against the control group,
// and the staffing plan (forecast, required and staffed agents per interval, understaffed
// intervals marked). Each reads one API route through the data provider with the form's filter.
import { Card, CardContent, Typography } from '@mui/material';
import { useState } from 'react';
import { Title, useGetList } from 'react-admin';
import { FilterForm, type Filter } from './filter-form.js';
import { RowsTable } from './rows-table.js';

function usePlanningRows(resource: string, filter: Filter) {
  return useGetList(resource, { filter, pagination: { page: 1, perPage: 5000 } }, { retry: false });
}

type Row = Record<string, unknown>;

/** Required and staffed agents over time (every selected series summed), short intervals in red. */
function StaffingChart(props: { readonly rows: readonly Row[] }) {
  const byTime = new Map<number, { required: number; staffed: number | null; offered: number }>();
  for (const r of props.rows) {
    const t = Date.parse(String(r.interval));
    const e = byTime.get(t) ?? { required: 0, staffed: null, offered: 0 };
    e.required += Number(r.required_agents);
    e.offered += Number(r.offered);
    if (typeof r.staffed_agents === 'number') e.staffed = (e.staffed ?? 0) + r.staffed_agents;
    byTime.set(t, e);
  }
  const points = [...byTime.entries()].sort((a, b) => a[0] - b[0]);
  if (points.length < 2) return null;
  const width = 760;
  const height = 220;
  const pad = 36;
  const [x0, x1] = [points[0]![0], points.at(-1)![0]];
  const y1 = Math.max(1, ...points.map(([, e]) => Math.max(e.required, e.staffed ?? 0)));
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  const sy = (y: number) => height - pad - (y / y1) * (height - 2 * pad);
  const line = (pick: (e: { required: number; staffed: number | null }) => number | null) =>
    points
      .filter(([, e]) => pick(e) !== null)
      .map(([x, e], i) => `${i === 0 ? 'M' : 'L'}${sx(x)},${sy(pick(e)!)}`)
      .join(' ');
  return (
    <svg
      width={width}
      height={height}
      role="img"
      aria-label="required and staffed agents"
      data-testid="staffing-chart"
    >
      <line x1={pad} y1={height - pad} x2={width - pad} y2={height - pad} stroke="#999" />
      <line x1={pad} y1={pad} x2={pad} y2={height - pad} stroke="#999" />
      <text x={2} y={sy(y1) + 4} fontSize={10}>
        {y1}
      </text>
      <text x={pad} y={height - 8} fontSize={10}>
        {new Date(x0).toISOString().slice(0, 16).replace('T', ' ')}
      </text>
      <text x={width - pad} y={height - 8} fontSize={10} textAnchor="end">
        {new Date(x1).toISOString().slice(0, 16).replace('T', ' ')}
      </text>
      <path d={line((e) => e.required)} fill="none" stroke="#1976d2" strokeWidth={2} />
      <path d={line((e) => e.staffed)} fill="none" stroke="#2e7d32" strokeWidth={2} />
      {points
        .filter(([, e]) => e.staffed !== null && e.staffed < e.required)
        .map(([x, e]) => (
          <circle
            key={x}
            cx={sx(x)}
            cy={sy(e.staffed!)}
            r={3}
            fill="#d32f2f"
            data-testid="understaffed-mark"
          />
        ))}
      <text x={width - pad} y={pad - 8} fontSize={11} textAnchor="end">
        <tspan fill="#1976d2">required</tspan> · <tspan fill="#2e7d32">staffed</tspan> ·{' '}
        <tspan fill="#d32f2f">understaffed</tspan>
      </text>
    </svg>
  );
}

const hourStart = () => {
  const d = new Date();
  d.setUTCMinutes(0, 0, 0);
  return d;
};

export function StaffingPage() {
  const from = hourStart();
  const initial = {
    from: from.toISOString(),
    to: new Date(from.getTime() + 86_400_000).toISOString(),
    siteId: '',
    skill: '',
  };
  const [filter, setFilter] = useState<Filter>(initial);
  const { data, error, isPending } = usePlanningRows('staffing', filter);
  const rows = (data ?? []) as Row[];
  const short = rows.filter((r) => r.understaffed === true).length;
  return (
    <Card>
      <Title title="Staffing" />
      <CardContent>
        <Typography variant="h5" gutterBottom>
          Staffing plan
        </Typography>
        <Typography variant="body2">
          Forecast calls and AHT per 15-minute interval, the agents Erlang A needs for the
          skill&apos;s service level, and once an interval has ended the agents actually staffed;
          understaffed intervals are marked red.
        </Typography>
        <FilterForm initial={initial} onApply={setFilter} />
        {isPending ? (
          <p>Loading…</p>
        ) : error ? (
          <p data-testid="error">{(error as Error).message}</p>
        ) : (
          <>
            <StaffingChart rows={rows} />
            <p data-testid="understaffed-count">{short} understaffed intervals</p>
            <RowsTable
              rows={rows}
              testId="staffing-rows"
              columns={[
                'site_id',
                'skill',
                'tenant_id',
                'interval',
                'offered',
                'aht_s',
                'required_agents',
                'staffed_agents',
                'understaffed',
                'planned_at',
              ]}
              mark={(r) => r.understaffed === true}
            />
          </>
        )}
      </CardContent>
    </Card>
  );
}

export function ChurnModelsPage() {
  const { data, error, isPending } = usePlanningRows('churn-models', {});
  const rows = ((data ?? []) as Row[]).map((r) => ({
    tenant_id: r.tenant_id,
    kind: r.kind,
    model_version: r.model_version,
    valid_auc: r.valid_auc,
    hand_set_valid_auc: r.hand_set_valid_auc,
    calibration_error: r.calibration_error,
    validated_on: `${String(r.valid_as_of).slice(0, 10)} (${(r.valid as { customers: number }).customers} customers)`,
    strongest: (r.coefficients as { feature: string; coefficient: number }[])
      .slice(0, 4)
      .map((c) => `${c.feature} ${c.coefficient > 0 ? '+' : ''}${c.coefficient.toFixed(2)}`)
      .join(', '),
    fallback_reason: r.fallback_reason,
  }));
  return (
    <Card>
      <Title title="Churn models" />
      <CardContent>
        <Typography variant="h5" gutterBottom>
          Churn models
        </Typography>
        <Typography variant="body2">
          Each tenant&apos;s model in the scoring run in force: fitted on its own history and
          validated on later churn (AUC beside the hand-set model&apos;s on the same customers), or
          the hand-set model when the tenant has too little history.
        </Typography>
        {isPending ? (
          <p>Loading…</p>
        ) : error ? (
          <p data-testid="error">{(error as Error).message}</p>
        ) : (
          <RowsTable rows={rows} testId="churn-models-rows" />
        )}
      </CardContent>
    </Card>
  );
}

export function RetentionPage() {
  const initial = { days: '30', by: 'site' };
  const [filter, setFilter] = useState<Filter>(initial);
  const { data, error, isPending } = usePlanningRows('retention', filter);
  return (
    <Card>
      <Title title="Retention uplift" />
      <CardContent>
        <Typography variant="h5" gutterBottom>
          Retention uplift
        </Typography>
        <Typography variant="body2">
          Churn within N days of becoming a call-back candidate, for customers on the call-back list
          and for the control group held back from it. Uplift = control − call-back churn; its 95 %
          interval excluding 0 says call-backs keep customers.
        </Typography>
        <FilterForm
          initial={initial}
          onApply={setFilter}
          choices={{ by: ['site', 'tenant', 'all'] }}
        />
        {isPending ? (
          <p>Loading…</p>
        ) : error ? (
          <p data-testid="error">{(error as Error).message}</p>
        ) : (
          <RowsTable rows={(data ?? []) as Row[]} testId="retention-rows" />
        )}
      </CardContent>
    </Card>
  );
}
