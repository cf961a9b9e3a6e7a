// Pending callbacks (docs/callbacks.md, docs/api.md "Callbacks"): per site and skill, in service
// order, as each site answers GET /api/v1/callbacks, asked again every 3 s; filtered by site and
// skill; Cancel after a confirmation. The numbers never come back from the site, so none is shown.
// A site that did not answer is listed as unreachable rather than as one without callbacks.
import {
  Button,
  Card,
  CardContent,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@mui/material';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Title } from 'react-admin';
import { ApiProblem, useLogoutOnExpiry } from './api-problem.js';
import { ChoiceField, useChoices } from './choice-field.js';
import { apiDelete, apiGet } from './session.js';

interface PendingCallback {
  readonly callbackId: string;
  readonly siteId: string;
  readonly tenantId: string;
  readonly skill: string;
  readonly tier: number;
  readonly arrivalTime: string;
  readonly scheduled: boolean;
  readonly attempts: number;
  readonly notBefore: string | null;
  readonly dialing: boolean;
  readonly position: number;
}

interface CallbackList {
  readonly callbacks: readonly PendingCallback[];
  readonly unreachable: readonly string[];
}

const REFRESH_MS = 3_000;

export function PendingCallbacksPage() {
  const choices = useChoices();
  const [form, setForm] = useState({ site: '', skill: '' });
  const [filter, setFilter] = useState({ site: '', skill: '' });
  const [confirming, setConfirming] = useState<PendingCallback | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const queryClient = useQueryClient();
  const { data, error, isPending } = useQuery({
    queryKey: ['pending-callbacks', filter],
    queryFn: () => apiGet<CallbackList>('/callbacks', filter),
    refetchInterval: REFRESH_MS,
    retry: false,
  });
  useLogoutOnExpiry(error);
  const cancel = async (c: PendingCallback) => {
    setConfirming(null);
    setProblem(null);
    try {
      await apiDelete(
        `/callbacks/${encodeURIComponent(c.callbackId)}?site=${encodeURIComponent(c.siteId)}`,
      );
    } catch (err) {
      setProblem(err);
    }
    await queryClient.invalidateQueries({ queryKey: ['pending-callbacks'] });
  };
  return (
    <Card>
      <Title title="Callbacks" />
      <CardContent>
        <Typography variant="h5" gutterBottom>
          Pending callbacks
        </Typography>
        <Stack direction="row" spacing={1} sx={{ mb: 2, alignItems: 'center' }}>
          {(['site', 'skill'] as const).map((k) => (
            <ChoiceField
              key={k}
              label={k}
              value={form[k]}
              options={choices?.[k]}
              blank={k === 'site' ? 'every site' : 'every skill'}
              testId={`callbacks-${k}`}
              onChange={(v) => setForm({ ...form, [k]: v })}
            />
          ))}
          <Button
            variant="contained"
            onClick={() => setFilter({ site: form.site.trim(), skill: form.skill.trim() })}
            data-testid="callbacks-apply"
          >
            Show
          </Button>
          <Typography variant="body2" color="text.secondary">
            refreshed every {REFRESH_MS / 1000} s
          </Typography>
        </Stack>
        <ApiProblem error={problem} testId="callback-cancel-error" />
        {isPending ? (
          <p>Loading…</p>
        ) : error ? (
          <ApiProblem error={error} testId="callbacks-error" />
        ) : (
          <>
            {data.unreachable.length > 0 && (
              <p data-testid="callbacks-unreachable">
                Unreachable (no answer, its callbacks unknown): {data.unreachable.join(', ')}
              </p>
            )}
            {data.callbacks.length === 0 ? (
              <p data-testid="no-callbacks">No pending callbacks.</p>
            ) : (
              <Table size="small" data-testid="callbacks-rows">
                <TableHead>
                  <TableRow>
                    {[
                      'site',
                      'skill',
                      'tenant',
                      'position',
                      'tier',
                      'arrival (its place)',
                      'scheduled',
                      'attempts',
                      'not before',
                      'dialing',
                      '',
                    ].map((h) => (
                      <TableCell key={h}>{h}</TableCell>
                    ))}
                  </TableRow>
                </TableHead>
                <TableBody>
                  {data.callbacks.map((c) => (
                    <TableRow
                      key={`${c.siteId}/${c.callbackId}`}
                      data-testid={`callback-${c.callbackId}`}
                    >
                      <TableCell>{c.siteId}</TableCell>
                      <TableCell>{c.skill}</TableCell>
                      <TableCell>{c.tenantId}</TableCell>
                      <TableCell align="right">{c.dialing ? 'dialing' : c.position}</TableCell>
                      <TableCell align="right">{c.tier}</TableCell>
                      <TableCell>{c.arrivalTime}</TableCell>
                      <TableCell>{c.scheduled ? 'yes' : 'no'}</TableCell>
                      <TableCell align="right">{c.attempts}</TableCell>
                      <TableCell>{c.notBefore ?? ''}</TableCell>
                      <TableCell>{c.dialing ? 'yes' : 'no'}</TableCell>
                      <TableCell>
                        <Button
                          size="small"
                          disabled={c.dialing}
                          onClick={() => setConfirming(c)}
                          data-testid="cancel"
                        >
                          Cancel
                        </Button>
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            )}
          </>
        )}
        <Dialog open={confirming !== null} onClose={() => setConfirming(null)}>
          <DialogTitle>Cancel this callback?</DialogTitle>
          <DialogContent>
            {confirming &&
              `The customer waiting at ${confirming.siteId} for ${confirming.skill} (position ${confirming.position}) will not be called back.`}
          </DialogContent>
          <DialogActions>
            <Button onClick={() => setConfirming(null)} data-testid="cancel-keep">
              Keep it
            </Button>
            <Button
              color="error"
              onClick={() => confirming && void cancel(confirming)}
              data-testid="cancel-confirm"
            >
              Cancel the callback
            </Button>
          </DialogActions>
        </Dialog>
      </CardContent>
    </Card>
  );
}
