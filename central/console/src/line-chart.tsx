// A small line chart in plain SVG (no chart library): one series of (time, value) points.
export function LineChart(props: {
  readonly points: readonly { readonly x: number; readonly y: number }[];
  readonly label: string;
  readonly percent?: boolean;
}) {
  const width = 640;
  const height = 200;
  const pad = 36;
  const { points } = props;
  if (points.length === 0) return <p>No data to chart.</p>;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const y1 = Math.max(...ys, props.percent ? 1 : 0) || 1;
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  const sy = (y: number) => height - pad - (y / y1) * (height - 2 * pad);
  const fmt = (y: number) => (props.percent ? `${Math.round(y * 100)} %` : y.toFixed(0));
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x)},${sy(p.y)}`).join(' ');
  return (
    <svg width={width} height={height} role="img" aria-label={props.label} data-testid="kpi-chart">
      <line x1={pad} y1={height - pad} x2={width - pad} y2={height - pad} stroke="#999" />
      <line x1={pad} y1={pad} x2={pad} y2={height - pad} stroke="#999" />
      <text x={2} y={sy(y1) + 4} fontSize={10}>
        {fmt(y1)}
      </text>
      <text x={2} y={height - pad + 4} fontSize={10}>
        {fmt(0)}
      </text>
      <text x={pad} y={height - 8} fontSize={10}>
        {new Date(x0).toISOString().slice(0, 16).replace('T', ' ')}
      </text>
      <text x={width - pad} y={height - 8} fontSize={10} textAnchor="end">
        {new Date(x1).toISOString().slice(0, 16).replace('T', ' ')}
      </text>
      <path d={path} fill="none" stroke="#1976d2" strokeWidth={2} />
      {points.map((p) => (
        <circle key={p.x} cx={sx(p.x)} cy={sy(p.y)} r={2.5} fill="#1976d2" />
      ))}
    </svg>
  );
}
