import type { Route } from '../router';

/** The Overview screen (to be built). */
export default function Overview(_props: { route: Route }) {
  return (
    <>
      <h1>Overview</h1>
      <p className="muted">This screen is not built yet.</p>
    </>
  );
}
