// The desktop's entry: log in (the same POST /session as the console), then the agent's desk for
// an agent's session, the supervisor's desk for a site's or tenant's supervisor (and HQ).
import { StrictMode, useCallback, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { Alert, Box, Button, Paper, TextField, Typography } from '@mui/material';
import {
  ApiError,
  apiPost,
  clearSession,
  storeSession,
  storedIdentity,
  type Identity,
} from '@ccfed/console/session';
import { AgentDesk } from './agent-desk.js';
import { SupervisorDesk } from './supervisor-desk.js';

interface SessionAnswer extends Omit<Identity, 'username'> {
  readonly token: string;
}

function LoginPage({ onIn }: { onIn: (who: Identity) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const { token, ...rest } = await apiPost<SessionAnswer>('/session', { username, password });
      const who = { username, ...rest };
      storeSession(token, who);
      onIn(who);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401)
        setProblem('Unknown username or wrong password');
      else if (err instanceof ApiError && (err.status === 429 || err.status === 503))
        setProblem(`Too many log-ins; try again in ${err.retryAfterSeconds ?? 30} s`);
      else setProblem(String(err instanceof Error ? err.message : err));
    }
  };
  return (
    <Box sx={{ display: 'flex', justifyContent: 'center', mt: 10 }}>
      <Paper component="form" onSubmit={submit} sx={{ p: 4, width: 360 }}>
        <Typography variant="h5" gutterBottom>
          ccfed desktop
        </Typography>
        <TextField
          label="Username"
          name="username"
          fullWidth
          margin="normal"
          autoComplete="username"
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          fullWidth
          margin="normal"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        {problem && (
          <Alert severity="error" data-testid="login-problem">
            {problem}
          </Alert>
        )}
        <Button type="submit" variant="contained" fullWidth sx={{ mt: 2 }}>
          Log in
        </Button>
      </Paper>
    </Box>
  );
}

function App() {
  const stored = storedIdentity();
  const [who, setWho] = useState<Identity | null>(
    stored && Date.parse(stored.expiresAt) > Date.now() ? stored : null,
  );
  // Stable: the desk's start-up effect depends on it, and a new function each render would stop
  // and register the softphone again.
  const logOut = useCallback(() => {
    clearSession();
    setWho(null);
  }, []);
  if (!who) return <LoginPage onIn={setWho} />;
  return who.role === 'agent' ? (
    <AgentDesk who={who} onLogOut={logOut} />
  ) : (
    <SupervisorDesk who={who} onLogOut={logOut} />
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
