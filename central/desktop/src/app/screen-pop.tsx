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

export function ScreenPop({ offer }: { offer: Offer }) {
  const { story } = offer;
  const complaints = story.recentContacts.filter(
    (c) => c.complaintSeverity !== '' && c.complaintSeverity !== 'none',
  ).length;
  return (
    <Paper sx={{ p: 2 }} data-testid="screen-pop" data-call-id={offer.callId}>
      <Stack direction="row" spacing={1} sx={{ mb: 1, alignItems: 'center' }}>
        <Typography variant="h6" data-testid="pop-customer">
          {story.customer ? `Customer ${story.customer.customerId}` : 'Unknown caller'}
        </Typography>
        {story.customer && <Chip label={story.customer.tier} data-testid="pop-tier" />}
        <Chip label={offer.skill} variant="outlined" />
        {complaints > 0 && (
          <Chip
            color="error"
            data-testid="pop-complaints"
            label={`${complaints} complaint${complaints > 1 ? 's' : ''} lately`}
          />
        )}
      </Stack>
      {story.overflow && (
        <Alert severity="info" data-testid="pop-overflow" sx={{ mb: 1 }}>
          Overflowed from {story.overflow.fromSiteId} after waiting {clock(story.overflow.waitedMs)}{' '}
          — {story.overflow.reason}
        </Alert>
      )}
      <Stack direction={{ xs: 'column', md: 'row' }} spacing={2}>
        <Box sx={{ flex: 2 }}>
          <Typography variant="subtitle2">Recent contacts</Typography>
          {story.recentContacts.length === 0 ? (
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
                {story.recentContacts.map((c, i) => (
                  <TableRow key={i}>
                    <TableCell>{new Date(c.at).toLocaleString()}</TableCell>
                    <TableCell>{c.siteId}</TableCell>
                    <TableCell>{c.skill}</TableCell>
                    <TableCell>{c.outcome}</TableCell>
                    <TableCell>
                      {c.complaintSeverity && c.complaintSeverity !== 'none' ? (
                        <Chip
                          size="small"
                          color={SEVERITY_COLOUR[c.complaintSeverity] ?? 'default'}
                          label={c.complaintSeverity}
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
          {story.churn ? (
            <Box data-testid="pop-churn">
              <Typography variant="h5">{Math.round(story.churn.risk * 100)} %</Typography>
              {story.churn.reasons.map((r) => (
                <Typography key={r.label} variant="body2">
                  {r.label}
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
            {story.nextBestOffer
              ? `${story.nextBestOffer.product} — ${story.nextBestOffer.reason}`
              : 'None'}
          </Typography>
          <Typography variant="subtitle2" sx={{ mt: 1 }}>
            Satisfaction
          </Typography>
          <Typography variant="body2" data-testid="pop-csat">
            {story.csatHistory.length === 0
              ? 'No survey'
              : story.csatHistory.map((s) => `${s.csat}/5`).join(' · ')}
          </Typography>
        </Box>
      </Stack>
    </Paper>
  );
}
