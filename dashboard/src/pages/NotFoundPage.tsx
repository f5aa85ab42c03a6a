import { Link } from "../lib/router";

export function NotFoundPage() {
  return (
    <section>
      <h1>Page not found</h1>
      <p className="muted">
        There is no page at this address. <Link href="/">Go to the overview</Link>.
      </p>
    </section>
  );
}
