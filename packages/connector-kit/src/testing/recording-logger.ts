import type { ConnectorLogger, LogFields } from '../context';

/**
 * One line written to a {@link RecordingLogger}.
 *
 * @example
 * ```ts
 * const entry: LogEntry = { level: 'warn', message: 'skipping ticket without requester', fields: { ticketId: 7 } };
 * ```
 */
export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
}

/**
 * A logger that keeps every line, for assertions.
 *
 * @example
 * ```ts
 * const logger = createRecordingLogger();
 * logger.warn('slow page', { ms: 900 });
 * expect(logger.entries).toContainEqual({ level: 'warn', message: 'slow page', fields: { ms: 900 } });
 * ```
 */
export interface RecordingLogger extends ConnectorLogger {
  /** Every line, oldest first. */
  readonly entries: readonly LogEntry[];
  /** Lines of one level. */
  at(level: LogEntry['level']): LogEntry[];
}

/**
 * Creates a {@link RecordingLogger}.
 *
 * @example
 * ```ts
 * const logger = createRecordingLogger();
 * await definition.check!({ ...ctx, logger });
 * expect(logger.at('error')).toEqual([]);
 * ```
 */
export function createRecordingLogger(): RecordingLogger {
  const entries: LogEntry[] = [];
  const write =
    (level: LogEntry['level']) =>
    (message: string, fields: LogFields = {}) => {
      entries.push({ level, message, fields });
    };
  return {
    entries,
    at: (level) => entries.filter((entry) => entry.level === level),
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
  };
}
