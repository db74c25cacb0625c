import type { Route } from '../router';

/** The Segments screen (to be built). */
export default function Segments(_props: { route: Route }) {
  return (
    <>
      <h1>Segments</h1>
      <p className="muted">This screen is not built yet.</p>
    </>
  );
}
