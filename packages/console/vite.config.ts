import { defineConfig } from 'vite';

/**
 * The console is served by the gateway under /console, its hashed files under
 * /console/assets/ (see src/graphql/console.ts in the server). The dev server
 * (`npm run dev --workspace @rapport/console`) proxies the API to a running
 * Rapport, so the page and /graphql share one origin as in production.
 */
export default defineConfig({
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    // Every asset a file of its own: the CSP allows no data: scripts or inline styles to hold them.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: { '/graphql': { target: process.env.RAPPORT_URL ?? 'http://localhost:4000', ws: true } },
  },
});
