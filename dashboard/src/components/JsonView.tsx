import { prettyJson } from "../lib/format";

/** Params and results as indented JSON, selectable and scrollable; nothing when absent. */
export function JsonView({ value, label }: { value: unknown; label: string }) {
  if (value === undefined || value === null) return <p className="muted">none</p>;
  return (
    <pre className="json" aria-label={label} tabIndex={0}>
      {prettyJson(value)}
    </pre>
  );
}
