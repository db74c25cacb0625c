import type { Route } from '../router';

/** The Models screen (to be built). */
export default function Models(_props: { route: Route }) {
  return (
    <>
      <h1>Models</h1>
      <p className="muted">This screen is not built yet.</p>
    </>
  );
}
