/** A Prometheus text exposition, parsed into series: metric name, labels, value. */
export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    series.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return series;
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there is none). */
export function sample(series: Series[], name: string, labels: Record<string, string> = {}): number {
  return series.filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value)).reduce((sum, s) => sum + s.value, 0);
}

/** Whether any sample of `name` (with these labels) is exposed. */
export function exposes(series: Series[], name: string, labels: Record<string, string> = {}): boolean {
  return series.some((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value));
}
