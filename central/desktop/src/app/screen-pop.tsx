// The customer's story, on screen from the moment the call is offered: who they are, what they
// contacted about lately (at any site) and how it went, their churn risk and why, what to offer
// them, how they rated us, and for an overflowed call where it came from and how long they have
// waited already. A third complaint must look like a third complaint.
import {
  Alert,
  Box,
  Chip,
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@mui/material';
import { clock, type Offer } from './desk-state.js';

const SEVERITY_COLOUR: Record<string, 'default' | 'warning' | 'error'> = {
  minor: 'warning',
  major: 'error',
  critical: 'error',
};

/** The churn model's reason codes as an agent reads them. */
const REASONS: Record<string, string> = {
  repeat_contacts: 'called repeatedly',
  complaint: 'complained',
  abandons: 'hung up waiting',
  long_waits: 'waited long',
  low_csat: 'rated us low',
  cancellation_intent: 'asked about cancelling',
};

export function ScreenPop({ offer }: { offer: Offer }) {
  const { story, customer } = offer;
  return (
    <Paper sx={{ p: 2 }} data-testid="screen-pop" data-call-id={offer.callId}>
      <Stack direction="row" spacing={1} sx={{ mb: 1, alignItems: 'center' }}>
        <Typography variant="h6" data-testid="pop-customer">
          {customer.id ? `Customer ${customer.id}` : 'Unknown caller'}
        </Typography>
        <Chip label={customer.tier} data-testid="pop-tier" />
        <Chip label={offer.skill} variant="outlined" />
        {story && story.complaints > 0 && (
          <Chip
            color="error"
            data-testid="pop-complaints"
            data-count={story.complaints}
            label={`${story.complaints} complaint${story.complaints > 1 ? 's' : ''} lately`}
          />
        )}
      </Stack>
      {offer.overflow && (
        <Alert severity="info" data-testid="pop-overflow" sx={{ mb: 1 }}>
          From {offer.overflow.originSiteId}, waited {clock(offer.overflow.waitedMs)} before
          reaching you{offer.overflow.routerReason ? ` (${offer.overflow.routerReason})` : ''}
        </Alert>
      )}
      {offer.unavailable && <Alert severity="warning">{offer.unavailable}</Alert>}
      <Stack direction={{ xs: 'column', md: 'row' }} spacing={2}>
        <Box sx={{ flex: 2 }}>
          <Typography variant="subtitle2">Recent contacts</Typography>
          {!story || story.contacts.length === 0 ? (
            <Typography variant="body2" data-testid="pop-no-contacts">
              No earlier contact
            </Typography>
          ) : (
            <Table size="small" data-testid="pop-contacts">
              <TableHead>
                <TableRow>
                  <TableCell>When</TableCell>
                  <TableCell>Site</TableCell>
                  <TableCell>Skill</TableCell>
                  <TableCell>Outcome</TableCell>
                  <TableCell>Complaint</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {story.contacts.map((c) => (
                  <TableRow key={c.callId} data-testid="pop-contact">
                    <TableCell>{new Date(c.at).toLocaleString()}</TableCell>
                    <TableCell>{c.siteId}</TableCell>
                    <TableCell>{c.skill}</TableCell>
                    <TableCell>
                      {c.outcome}
                      {c.disposition ? ` · ${c.disposition}` : ''}
                      {c.resolvedFirstContact === false ? ' · not resolved' : ''}
                    </TableCell>
                    <TableCell>
                      {c.complaintSeverity && c.complaintSeverity !== 'none' ? (
                        <Chip
                          size="small"
                          color={SEVERITY_COLOUR[c.complaintSeverity] ?? 'default'}
                          label={c.complaintSeverity}
                          data-testid="pop-complaint"
                        />
                      ) : (
                        '—'
                      )}
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          )}
        </Box>
        <Box sx={{ flex: 1 }}>
          <Typography variant="subtitle2">Churn risk</Typography>
          {story ? (
            <Box data-testid="pop-churn">
              <Typography variant="h5">{Math.round(story.churn.risk * 100)} %</Typography>
              {story.churn.reasons.map((r) => (
                <Typography key={r} variant="body2">
                  {REASONS[r] ?? r}
                </Typography>
              ))}
            </Box>
          ) : (
            <Typography variant="body2">Not scored</Typography>
          )}
          <Typography variant="subtitle2" sx={{ mt: 1 }}>
            Next best offer
          </Typography>
          <Typography variant="body2" data-testid="pop-offer">
            {offer.nextBestOffer
              ? `${offer.nextBestOffer.productId} — ${offer.nextBestOffer.because}`
              : 'None'}
          </Typography>
          <Typography variant="subtitle2" sx={{ mt: 1 }}>
            Satisfaction
          </Typography>
          <Typography variant="body2" data-testid="pop-csat">
            {!story || story.csat.length === 0
              ? 'No survey'
              : story.csat.map((s) => `${s.csat}/5`).join(' · ')}
          </Typography>
        </Box>
      </Stack>
    </Paper>
  );
}
