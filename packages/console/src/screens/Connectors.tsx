import type { Route } from '../router';

/** The Connectors screen (to be built). */
export default function Connectors(_props: { route: Route }) {
  return (
    <>
      <h1>Connectors</h1>
      <p className="muted">This screen is not built yet.</p>
    </>
  );
}
