import { useEffect, useId, useRef, useState } from 'react';
import type { EChartsCoreOption } from './echarts';
import { DataTable, type Column } from './DataTable';

export interface ChartProps<Row> {
  /** What the chart shows; the figure's caption and the canvas's accessible name. */
  title: string;
  option: EChartsCoreOption;
  /** The same data as a table: the chart's text alternative, behind the toggle. */
  columns: Column<Row>[];
  rows: Row[];
  height?: number;
  /** Start on the table instead of the chart. */
  tableFirst?: boolean;
}

/**
 * One ECharts chart with its text alternative: a button switches between the
 * chart and a table of the same figures (keyboard reachable, state announced
 * with aria-pressed). The chart resizes with its box.
 */
export function Chart<Row>({ title, option, columns, rows, height = 260, tableFirst = false }: ChartProps<Row>) {
  const [asTable, setAsTable] = useState(tableFirst);
  const box = useRef<HTMLDivElement>(null);
  const captionId = useId();
  useEffect(() => {
    const element = box.current;
    if (asTable || !element) return;
    // ECharts loads with the first chart, in a chunk of its own: the page paints before it arrives.
    let dispose: () => void = () => undefined;
    let cancelled = false;
    void import('./echarts').then(({ echarts }) => {
      if (cancelled) return;
      const chart = echarts.init(element, undefined, { renderer: 'canvas' });
      chart.setOption({ aria: { enabled: true, label: { description: title } }, animation: false, ...option });
      const observer = new ResizeObserver(() => chart.resize());
      observer.observe(element);
      dispose = () => {
        observer.disconnect();
        chart.dispose();
      };
    });
    return () => {
      cancelled = true;
      dispose();
    };
  }, [asTable, option, title]);
  return (
    <figure className="chart" aria-labelledby={captionId}>
      <figcaption id={captionId}>
        <span>{title}</span>
        <button type="button" className="link-button" aria-pressed={asTable} onClick={() => setAsTable(!asTable)}>
          {asTable ? 'Show chart' : 'Show table'}
        </button>
      </figcaption>
      {asTable ? (
        <DataTable caption={title} columns={columns} rows={rows} />
      ) : (
        <div ref={box} className="chart-canvas" role="img" aria-label={`${title} (chart; use "Show table" for the figures)`} style={{ height }} />
      )}
    </figure>
  );
}
