import type { Route } from '../router';

/** The Customers screen (to be built). */
export default function Customer360(_props: { route: Route }) {
  return (
    <>
      <h1>Customers</h1>
      <p className="muted">This screen is not built yet.</p>
    </>
  );
}
