import type { ReactNode } from 'react';

/** What a panel shows while its data loads, when it failed, or its content. */
export function Loadable({ loading, error, children, label }: { loading: boolean; error?: Error; children: ReactNode; label: string }) {
  if (error) {
    return (
      <p className="error" role="alert">
        Could not load {label}: {error.message}
      </p>
    );
  }
  if (loading) {
    return (
      <p className="muted" aria-busy="true">
        Loading {label}…
      </p>
    );
  }
  return <>{children}</>;
}

export function Panel({ title, children, wide = false, actions }: { title: string; children: ReactNode; wide?: boolean; actions?: ReactNode }) {
  return (
    <section className={wide ? 'panel wide' : 'panel'} aria-label={title}>
      <header className="panel-header">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function formatNumber(n: number, digits = 0): string {
  return n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toISOString().slice(0, 10);
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}
