import type { ReactNode } from "react";

/** The three non-data states every page has, styled the same everywhere. */
export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <div className="state" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {what}…
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state empty">{children}</div>;
}

export function ErrorBox({ error, retry }: { error: Error; retry?: () => void }) {
  return (
    <div className="state error" role="alert">
      <strong>Could not load.</strong> {error.message}
      {retry ? (
        <button type="button" className="btn small" onClick={retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}
