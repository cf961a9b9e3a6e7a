// The sites, skills and tenants the caller may see (GET /api/v1/topology, already cut to its
// scope), offered as choices where a page asks for one; a plain text field when the API has no
// topology to give, so the page still works and the server still decides.
import { TextField } from '@mui/material';
import { useQuery } from '@tanstack/react-query';
import { apiGet } from './session.js';

export interface Choices {
  readonly site: readonly string[];
  readonly skill: readonly string[];
  readonly tenant: readonly string[];
}

interface TopologyIds {
  readonly sites: readonly { readonly id: string }[];
  readonly skills: readonly { readonly id?: unknown }[];
  readonly tenants: readonly { readonly id: string }[];
}

/** The caller's choices, or null while unknown or when the API has no topology. */
export function useChoices(): Choices | null {
  const { data } = useQuery({
    queryKey: ['topology-choices'],
    queryFn: () => apiGet<TopologyIds>('/topology'),
    retry: false,
    staleTime: 60_000,
  });
  if (!data) return null;
  return {
    site: data.sites.map((s) => s.id),
    skill: data.skills.map((s) => String(s.id)),
    tenant: data.tenants.map((t) => t.id),
  };
}

/**
 * A site, skill or tenant: a native select over `options` when known (`blank` names the empty
 * choice, "every site" in a filter, "choose…" in a form), else a text field.
 */
export function ChoiceField(props: {
  readonly label: string;
  readonly value: string;
  readonly options: readonly string[] | undefined;
  readonly blank: string;
  readonly testId: string;
  readonly width?: number;
  readonly onChange: (value: string) => void;
}) {
  const known = props.options !== undefined;
  return (
    <TextField
      select={known}
      label={props.label}
      size="small"
      value={props.value}
      sx={{ width: props.width ?? 180 }}
      onChange={(e) => props.onChange(e.target.value)}
      slotProps={{
        select: { native: true },
        inputLabel: { shrink: true },
        htmlInput: { 'data-testid': props.testId },
      }}
    >
      {known && [
        <option key="" value="">
          {props.blank}
        </option>,
        ...props.options!.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        )),
      ]}
    </TextField>
  );
}
