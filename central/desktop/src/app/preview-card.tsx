// A preview campaign's contact on the agent's desk (docs/campaigns.md, "Preview"): while the site
// holds the agent reserved, the desk asks for its preview (GET /desktop/preview, every second
// until one shows) and shows who it is, with the customer's story as the screen pop shows it,
// and the time left; the agent dials it or skips it with a reason. Undecided, it lapses at its
// expiry and the site puts the agent not ready.
import { useEffect, useState } from 'react';
import { Alert, Button, MenuItem, Paper, Stack, TextField, Typography } from '@mui/material';
import type { CustomerStory } from '@ccfed/analytics/customer-story';
import { apiGet, apiPostWithToken } from '@ccfed/console/session';
import { clock } from './desk-state.js';
import { ScreenPop } from './screen-pop.js';

/** GET /api/v1/desktop/preview's preview (central/api/src/desktop/preview-routes.ts). */
export interface Preview {
  readonly offerId: string;
  readonly siteId: string;
  readonly campaignId: string;
  readonly skill: string;
  readonly contactId: string;
  readonly customerId: string | null;
  readonly callId: string;
  readonly offeredAt: string;
  readonly expiresAt: string;
  readonly story: CustomerStory | null;
  readonly unavailable?: string;
}

const SKIP_REASONS: readonly { code: string; label: string }[] = [
  { code: 'not_now', label: 'Not now' },
  { code: 'needs_preparation', label: 'Needs preparation' },
  { code: 'wrong_contact', label: 'Wrong contact' },
  { code: 'other', label: 'Other' },
];

export function PreviewCard({ reserved, now }: { reserved: boolean; now: number }) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [reason, setReason] = useState('not_now');
  const [busy, setBusy] = useState(false);

  // Only a reserved agent can have a preview: ask while reserved, forget it once not.
  useEffect(() => {
    if (!reserved) {
      setPreview(null);
      return;
    }
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = async () => {
      try {
        const { preview: p } = await apiGet<{ preview: Preview | null }>('/desktop/preview');
        if (stopped) return;
        setPreview(p);
        if (p) return;
      } catch (err) {
        if (!stopped) setProblem(err instanceof Error ? err.message : String(err));
      }
      if (!stopped) timer = setTimeout(() => void ask(), 1_000);
    };
    void ask();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [reserved]);

  if (!preview) return null;
  const decide = (path: string, body: unknown) => () => {
    setBusy(true);
    apiPostWithToken(`/desktop/previews/${encodeURIComponent(preview.offerId)}/${path}`, body)
      .then(
        () => {
          setProblem(null);
          setPreview(null);
        },
        (err: unknown) => setProblem(err instanceof Error ? err.message : String(err)),
      )
      .finally(() => setBusy(false));
  };
  const leftMs = Math.max(0, Date.parse(preview.expiresAt) - now);
  return (
    <Paper
      sx={{ p: 2, borderLeft: 4, borderColor: 'primary.main' }}
      data-testid="preview-card"
      data-offer-id={preview.offerId}
    >
      <Stack direction="row" spacing={1} sx={{ alignItems: 'center', flexWrap: 'wrap', mb: 1 }}>
        <Typography variant="h6" sx={{ flexGrow: 1 }}>
          Campaign {preview.campaignId}: call{' '}
          <span data-testid="preview-customer">
            {preview.customerId ? `customer ${preview.customerId}` : `contact ${preview.contactId}`}
          </span>
          ?
        </Typography>
        <Typography color="text.secondary" data-testid="preview-left">
          {clock(leftMs)} left
        </Typography>
        <Button
          variant="contained"
          color="success"
          data-testid="preview-dial"
          disabled={busy}
          onClick={decide('dial', {})}
        >
          Dial
        </Button>
        <TextField
          select
          size="small"
          label="Skip reason"
          value={reason}
          sx={{ minWidth: 180 }}
          slotProps={{ htmlInput: { 'data-testid': 'preview-skip-reason' } }}
          onChange={(e) => setReason(e.target.value)}
        >
          {SKIP_REASONS.map((r) => (
            <MenuItem key={r.code} value={r.code}>
              {r.label}
            </MenuItem>
          ))}
        </TextField>
        <Button
          variant="outlined"
          data-testid="preview-skip"
          disabled={busy}
          onClick={decide('skip', { reason })}
        >
          Skip
        </Button>
      </Stack>
      {problem && <Alert severity="error">{problem}</Alert>}
      <ScreenPop
        offer={{
          callId: preview.callId,
          siteId: preview.siteId,
          skill: preview.skill,
          offeredAt: preview.offeredAt,
          waitedMs: 0,
          customer: { id: preview.customerId, tier: 'outbound' },
          story: preview.story,
          nextBestOffer: null,
          overflow: null,
          ...(preview.unavailable !== undefined && { unavailable: preview.unavailable }),
        }}
      />
    </Paper>
  );
}
