// The analytics pages: KPI trends, churn call-backs, cross-sell rules and satisfaction. Each reads
// one API route through the data provider with the filter in its form.
import { Card, CardContent, MenuItem, TextField, Typography } from '@mui/material';
import { useState, type ReactNode } from 'react';
import { Title, useGetList } from 'react-admin';
import { FilterForm, type Filter } from './filter-form.js';
import { LineChart } from './line-chart.js';
import { RowsTable } from './rows-table.js';

function Results(props: { readonly resource: string; readonly filter: Filter | null }) {
  const { data, error, isPending } = useGetList(
    props.resource,
    { filter: props.filter ?? {}, pagination: { page: 1, perPage: 1000 } },
    { enabled: props.filter !== null, retry: false },
  );
  if (props.filter === null) return null;
  if (isPending) return <p>Loading…</p>;
  if (error) return <p data-testid="error">{(error as Error).message}</p>;
  return <RowsTable rows={data ?? []} testId={`${props.resource}-rows`} />;
}

function Page(props: { readonly title: string; readonly children: ReactNode }) {
  return (
    <Card>
      <Title title={props.title} />
      <CardContent>
        <Typography variant="h5" gutterBottom>
          {props.title}
        </Typography>
        {props.children}
      </CardContent>
    </Card>
  );
}

const isoDaysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

const CHART_METRICS = ['offered', 'service_level', 'abandon_rate', 'answered', 'asa_s', 'aht_s'];

export function KpiPage() {
  const initial = { from: isoDaysAgo(1), to: new Date().toISOString(), groupBy: 'hour' };
  const [filter, setFilter] = useState<Filter>(initial);
  const [metric, setMetric] = useState('offered');
  const { data, error, isPending } = useGetList(
    'kpis',
    { filter, pagination: { page: 1, perPage: 1000 } },
    { retry: false },
  );
  const timeKey = ['interval', 'hour', 'day'].find((k) => filter.groupBy?.split(',').includes(k));
  const points =
    timeKey && data
      ? data
          .filter((r) => typeof r[metric] === 'number')
          .map((r) => ({ x: Date.parse(r[timeKey] as string), y: r[metric] as number }))
          .sort((a, b) => a.x - b.x)
      : [];
  return (
    <Page title="KPIs">
      <FilterForm
        initial={initial}
        onApply={setFilter}
        choices={{ groupBy: ['', 'interval', 'hour', 'day', 'site', 'skill', 'tenant'] }}
      />
      {timeKey && (
        <>
          <TextField
            select
            size="small"
            label="chart"
            value={metric}
            onChange={(e) => setMetric(e.target.value)}
          >
            {CHART_METRICS.map((m) => (
              <MenuItem key={m} value={m}>
                {m}
              </MenuItem>
            ))}
          </TextField>
          <LineChart
            points={points}
            label={metric}
            percent={metric === 'service_level' || metric === 'abandon_rate'}
          />
        </>
      )}
      {isPending ? (
        <p>Loading…</p>
      ) : error ? (
        <p data-testid="error">{(error as Error).message}</p>
      ) : (
        <RowsTable rows={data ?? []} testId="kpis-rows" />
      )}
    </Page>
  );
}

export function CallbacksPage() {
  const [filter, setFilter] = useState<Filter | null>({ limit: '50' });
  return (
    <Page title="Churn call-backs">
      <Typography variant="body2">
        Customers most likely to leave, with the reasons the score gives; call them back first.
        Scores come from the newest scheduled scoring run (scored_at says when it scored).
      </Typography>
      <FilterForm initial={{ siteId: '', limit: '50' }} onApply={setFilter} />
      <Results resource="callbacks" filter={filter} />
    </Page>
  );
}

export function CrossSellPage() {
  const [filter, setFilter] = useState<Filter | null>({});
  return (
    <Page title="Cross-sell rules">
      <Typography variant="body2">
        Rules from the newest scheduled refresh of each tenant (computed_at says when they were
        mined).
      </Typography>
      <FilterForm
        initial={{ minSupport: '', minConfidence: '', limit: '100' }}
        onApply={setFilter}
      />
      <Results resource="cross-sell" filter={filter} />
    </Page>
  );
}

export function SatisfactionPage() {
  const initial = { from: isoDaysAgo(30), to: new Date().toISOString(), by: 'site' };
  const [filter, setFilter] = useState<Filter | null>(initial);
  return (
    <Page title="Satisfaction (CSAT / NPS)">
      <FilterForm
        initial={initial}
        onApply={setFilter}
        choices={{ by: ['site', 'skill', 'agent', 'wait_band'] }}
      />
      <Results resource="satisfaction" filter={filter} />
    </Page>
  );
}
