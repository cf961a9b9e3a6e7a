// A party's audio as the desk hears it: a level bar, so an agent sees the caller is audible (and
// a supervisor that each party is), with what it measured on the element's data attributes.
import { useEffect, useState } from 'react';
import { Box, LinearProgress, Typography } from '@mui/material';

export interface Heard {
  /** 0..1 now. */
  readonly level: number;
  /** WebRTC's totalAudioEnergy so far: grows while sound arrives. */
  readonly energy: number;
  /** The loudest frequency now (Hz), when known. */
  readonly hz?: number;
}

/** Polls `read` twice a second while mounted and shows what it heard. */
export function LevelMeter(props: {
  label: string;
  testId: string;
  read: () => Promise<Heard | undefined>;
}) {
  const [heard, setHeard] = useState<Heard | undefined>();
  const { read } = props;
  useEffect(() => {
    let stop = false;
    const t = setInterval(() => {
      void read().then(
        (h) => !stop && setHeard(h),
        () => undefined,
      );
    }, 500);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [read]);
  return (
    <Box
      sx={{ minWidth: 160 }}
      data-testid={props.testId}
      data-energy={heard?.energy ?? 0}
      data-hz={heard?.hz ?? ''}
    >
      <Typography variant="caption">{props.label}</Typography>
      <LinearProgress variant="determinate" value={Math.min(100, (heard?.level ?? 0) * 300)} />
    </Box>
  );
}
