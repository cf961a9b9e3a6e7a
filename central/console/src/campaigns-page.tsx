// Outbound campaigns (docs/campaigns.md, docs/api.md "Campaigns"): every campaign the caller may
// see, per site, with its progress asked again every 3 s (GET /api/v1/campaigns, which asks each
// site); a form that creates one from a contact list (a CSV file picked, held as it is and sent
// whole, up to 8 MiB or about 100,000 contacts; or a short list pasted), the
// tenant's churn call-back list or the survey follow-up sample (read by HQ, resolved to numbers
// at the site), and Start and Pause per row. The server scopes everything: a tenant client gets and runs only its own
// tenant's campaigns, a site supervisor only its site's. A refusal shows as the server gave it,
// a bad list with every bad line named.
import {
  Button,
  Card,
  CardContent,
  MenuItem,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type ChangeEvent } from 'react';
import { Title } from 'react-admin';
import { ApiProblem, useLogoutOnExpiry } from './api-problem.js';
import { createBody, listContacts, listFileProblem, SOURCES, type Form } from './campaign-form.js';
import { ChoiceField, useChoices, type Choices } from './choice-field.js';
import { apiGet, apiPostWithToken, storedIdentity } from './session.js';

/** A campaign's progress as GET /api/v1/campaigns answers it. */
interface Progress {
  readonly campaignId: string;
  readonly siteId: string;
  readonly tenantId: string;
  readonly skill: string;
  readonly mode: string;
  readonly status: string;
  readonly contacts: number;
  readonly dialed: number;
  readonly connected: number;
  readonly abandoned: number;
  readonly abandonRate24h: number;
  readonly outcomes: Readonly<Record<string, number>>;
  readonly standing: Readonly<Record<string, number>>;
  readonly held: string | null;
  readonly source: string;
  readonly sourceRef: string;
  readonly unresolvable: number;
}

interface CampaignList {
  readonly campaigns: readonly Progress[];
  readonly unreachable: readonly string[];
}

const REFRESH_MS = 3_000;

const counts = (m: Readonly<Record<string, number>>) =>
  Object.entries(m)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

function CreateCampaign(props: {
  readonly onCreated: () => void;
  readonly choices: Choices | null;
}) {
  const me = storedIdentity();
  const [form, setForm] = useState<Form>({
    siteId: me?.siteId ?? '',
    tenantId: '',
    campaignId: '',
    skill: '',
    mode: 'progressive',
    contactsCsv: 'customer_id,number,time_zone\n',
    dnc: '',
    windowStart: '',
    windowEnd: '',
    maxAttempts: '',
    ringTimeoutSeconds: '',
    source: 'csv',
    listSize: '',
    sampleBaseRate: '',
    sampleDays: '',
  });
  // A picked file is held here rather than in the text box: tens of thousands of lines in a
  // multiline field make the page crawl, and nobody edits such a list by hand.
  const [picked, setPicked] = useState<{
    name: string;
    text: string;
    bytes: number;
    contacts: number;
  } | null>(null);
  const [fileProblem, setFileProblem] = useState<string | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const field = (k: keyof Form, label: string, extra: { width?: number; help?: string } = {}) => (
    <TextField
      label={label}
      size="small"
      value={form[k]}
      helperText={extra.help}
      sx={{ width: extra.width ?? 180 }}
      onChange={(e) => setForm({ ...form, [k]: e.target.value })}
      slotProps={{ htmlInput: { 'data-testid': `campaign-${k}` } }}
    />
  );
  const choice = (k: 'siteId' | 'tenantId' | 'skill', label: 'site' | 'tenant' | 'skill') => (
    <ChoiceField
      label={label}
      value={form[k]}
      options={props.choices?.[label]}
      blank="choose…"
      testId={`campaign-${k}`}
      onChange={(v) => setForm({ ...form, [k]: v })}
    />
  );
  const pickFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    // Picking the same file again (after fixing it) must fire again.
    e.target.value = '';
    if (!file) return;
    setPicked(null);
    const refused = listFileProblem(file.name, file.size);
    if (refused) return setFileProblem(refused);
    const text = await file.text();
    const contacts = listContacts(text);
    if (contacts === 0) return setFileProblem(`${file.name} holds no contacts`);
    setFileProblem(null);
    setPicked({ name: file.name, text, bytes: file.size, contacts });
  };
  const submit = async () => {
    setBusy(true);
    setProblem(null);
    setCreated(null);
    try {
      const list = picked ? { ...form, contactsCsv: picked.text } : form;
      const res = await apiPostWithToken<Progress>('/campaigns', createBody(list, me?.role));
      setCreated(
        `${res.campaignId} created at ${res.siteId}, paused, ${res.contacts} contacts` +
          (res.source === 'csv'
            ? ''
            : `, ${res.unresolvable} with no number at the site (${res.sourceRef})`),
      );
      props.onCreated();
    } catch (err) {
      setProblem(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <Typography variant="h6" gutterBottom>
        New campaign
      </Typography>
      <Stack direction="row" spacing={1} sx={{ mb: 1, flexWrap: 'wrap', rowGap: 1 }}>
        {choice('siteId', 'site')}
        {me?.role === 'hq' || me?.role === 'site' ? choice('tenantId', 'tenant') : null}
        {field('campaignId', 'campaign id')}
        {choice('skill', 'skill')}
        <TextField
          select
          label="mode"
          size="small"
          value={form.mode}
          sx={{ width: 160 }}
          onChange={(e) => setForm({ ...form, mode: e.target.value })}
          slotProps={{ htmlInput: { 'data-testid': 'campaign-mode' } }}
        >
          <MenuItem value="progressive">progressive</MenuItem>
          <MenuItem value="predictive">predictive</MenuItem>
          <MenuItem value="preview">preview</MenuItem>
        </TextField>
      </Stack>
      <Stack direction="row" spacing={1} sx={{ mb: 1, flexWrap: 'wrap', rowGap: 1 }}>
        {field('windowStart', 'window start', { width: 130, help: 'HH:MM, local' })}
        {field('windowEnd', 'window end', { width: 130, help: 'HH:MM, local' })}
        {field('maxAttempts', 'max attempts', { width: 130, help: '1-20' })}
        {field('ringTimeoutSeconds', 'ring timeout (s)', { width: 150, help: '5-60' })}
        {field('dnc', 'do not call', { width: 320, help: 'E.164 numbers, comma separated' })}
      </Stack>
      <Stack direction="row" spacing={1} sx={{ mb: 1, flexWrap: 'wrap', rowGap: 1 }}>
        <TextField
          select
          label="list"
          size="small"
          value={form.source}
          sx={{ width: 240 }}
          onChange={(e) => setForm({ ...form, source: e.target.value })}
          slotProps={{
            select: { native: true },
            inputLabel: { shrink: true },
            htmlInput: { 'data-testid': 'campaign-source' },
          }}
        >
          {SOURCES.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </TextField>
        {form.source !== 'csv' &&
          field('listSize', 'at most', { width: 150, help: 'customers, 1-100000' })}
        {form.source === 'survey' &&
          field('sampleBaseRate', 'base rate', { width: 130, help: 'no complaint: 0-1' })}
        {form.source === 'survey' && field('sampleDays', 'days', { width: 100, help: '1-31' })}
      </Stack>
      {form.source === 'csv' && picked ? (
        <Typography variant="body2" data-testid="campaign-file-picked">
          {picked.name}: {picked.contacts.toLocaleString('en')} contacts,{' '}
          {(picked.bytes / 1024 / 1024).toFixed(1)} MiB, sent as it is (the site checks every row)
        </Typography>
      ) : form.source === 'csv' ? (
        <TextField
          label="contacts (CSV: customer_id,number,time_zone)"
          multiline
          minRows={4}
          fullWidth
          value={form.contactsCsv}
          onChange={(e) => setForm({ ...form, contactsCsv: e.target.value })}
          slotProps={{ htmlInput: { 'data-testid': 'campaign-contactsCsv' } }}
        />
      ) : (
        <Typography variant="body2" color="text.secondary" data-testid="campaign-source-help">
          {form.source === 'churn'
            ? 'The tenant’s churn call-back list from the newest scoring run, highest risk × value first; the control group is never on it.'
            : 'Customers of calls wrapped up in the last days, drawn as the post-call survey draws: major and critical complaints always.'}{' '}
          HQ sends the site customer ids only; the site finds their numbers in the tenant’s CRM
          contacts it holds, and counts those it has none for.
        </Typography>
      )}
      <Stack direction="row" spacing={1} sx={{ my: 1, alignItems: 'center' }}>
        {form.source === 'csv' && (
          <Button component="label" variant="outlined" size="small">
            {picked ? 'Pick another CSV file' : 'Pick a CSV file'}
            <input
              type="file"
              accept=".csv,text/csv,text/plain"
              hidden
              onChange={(e) => void pickFile(e)}
              data-testid="campaign-file"
            />
          </Button>
        )}
        {form.source === 'csv' && picked && (
          <Button size="small" onClick={() => setPicked(null)} data-testid="campaign-file-clear">
            Paste instead
          </Button>
        )}
        <Button
          variant="contained"
          disabled={busy}
          onClick={() => void submit()}
          data-testid="campaign-create"
        >
          Create (paused)
        </Button>
      </Stack>
      {fileProblem && (
        <Typography color="error" variant="body2" data-testid="campaign-file-error">
          {fileProblem}
        </Typography>
      )}
      <ApiProblem error={problem} testId="campaign-create-error" />
      {created && <p data-testid="campaign-created">{created}</p>}
    </div>
  );
}

export function CampaignsPage() {
  const choices = useChoices();
  const [site, setSite] = useState('');
  const [shown, setShown] = useState('');
  const [actionProblem, setActionProblem] = useState<unknown>(null);
  const queryClient = useQueryClient();
  const key = ['campaigns', shown];
  const { data, error, isPending } = useQuery({
    queryKey: key,
    queryFn: () => apiGet<CampaignList>('/campaigns', shown ? { site: shown } : {}),
    refetchInterval: REFRESH_MS,
    retry: false,
  });
  useLogoutOnExpiry(error);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['campaigns'] });
  const act = async (c: Progress, verb: 'start' | 'pause') => {
    setActionProblem(null);
    try {
      await apiPostWithToken(`/campaigns/${encodeURIComponent(c.campaignId)}/${verb}`, {
        siteId: c.siteId,
      });
    } catch (err) {
      setActionProblem(err);
    }
    refresh();
  };
  return (
    <Card>
      <Title title="Campaigns" />
      <CardContent>
        <Typography variant="h5" gutterBottom>
          Outbound campaigns
        </Typography>
        <Stack direction="row" spacing={1} sx={{ mb: 2, alignItems: 'center' }}>
          <ChoiceField
            label="site"
            value={site}
            options={choices?.site}
            blank="every site"
            testId="campaigns-site"
            onChange={setSite}
          />
          <Button variant="outlined" onClick={() => setShown(site.trim())}>
            Show
          </Button>
          <Typography variant="body2" color="text.secondary">
            refreshed every {REFRESH_MS / 1000} s
          </Typography>
        </Stack>
        <ApiProblem error={actionProblem} testId="campaign-action-error" />
        {isPending ? (
          <p>Loading…</p>
        ) : error ? (
          <ApiProblem error={error} testId="campaigns-error" />
        ) : (
          <>
            {data.unreachable.length > 0 && (
              <p data-testid="campaigns-unreachable">
                Unreachable (no answer): {data.unreachable.join(', ')}
              </p>
            )}
            {data.campaigns.length === 0 ? (
              <p data-testid="no-campaigns">No campaigns.</p>
            ) : (
              <Table size="small" data-testid="campaigns-rows">
                <TableHead>
                  <TableRow>
                    {[
                      'site',
                      'campaign',
                      'tenant',
                      'status',
                      'mode',
                      'skill',
                      'list',
                      'contacts',
                      'dialed',
                      'connected',
                      'abandoned 24 h',
                      'outcomes',
                      'contacts stand',
                      'held',
                      '',
                    ].map((h) => (
                      <TableCell key={h}>{h}</TableCell>
                    ))}
                  </TableRow>
                </TableHead>
                <TableBody>
                  {data.campaigns.map((c) => (
                    <TableRow
                      key={`${c.siteId}/${c.campaignId}`}
                      data-testid={`campaign-${c.siteId}-${c.campaignId}`}
                    >
                      <TableCell>{c.siteId}</TableCell>
                      <TableCell>{c.campaignId}</TableCell>
                      <TableCell>{c.tenantId}</TableCell>
                      <TableCell data-testid="status">{c.status}</TableCell>
                      <TableCell>{c.mode}</TableCell>
                      <TableCell>{c.skill}</TableCell>
                      <TableCell data-testid="source" title={c.sourceRef}>
                        {c.source}
                        {c.source === 'csv' ? '' : ` (${c.unresolvable} with no number)`}
                      </TableCell>
                      <TableCell align="right" data-testid="contacts">
                        {c.contacts}
                      </TableCell>
                      <TableCell align="right" data-testid="dialed">
                        {c.dialed}
                      </TableCell>
                      <TableCell align="right" data-testid="connected">
                        {c.connected}
                      </TableCell>
                      <TableCell align="right" data-testid="abandon-rate">
                        {(c.abandonRate24h * 100).toFixed(1)} %
                      </TableCell>
                      <TableCell>{counts(c.outcomes)}</TableCell>
                      <TableCell>{counts(c.standing)}</TableCell>
                      <TableCell data-testid="held">{c.held ?? ''}</TableCell>
                      <TableCell>
                        {c.status === 'running' ? (
                          <Button
                            size="small"
                            onClick={() => void act(c, 'pause')}
                            data-testid="pause"
                          >
                            Pause
                          </Button>
                        ) : (
                          <Button
                            size="small"
                            onClick={() => void act(c, 'start')}
                            data-testid="start"
                          >
                            Start
                          </Button>
                        )}
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            )}
          </>
        )}
        <CreateCampaign onCreated={refresh} choices={choices} />
      </CardContent>
    </Card>
  );
}
