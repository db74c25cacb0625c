import { ErrorCode } from '../../errors/catalog';
import { sendJson, type HttpRoute } from '../../graphql/server';
import type { ConnectionScheduler } from './connectors.jobs';
import type { FileImportService, ImportFormat, ImportMapping } from './file-import.service';

/** Largest upload `POST /imports` accepts. */
export const MAX_IMPORT_UPLOAD_BYTES = 256 * 1024 * 1024;

/**
 * `POST /imports?format=csv|ndjson&source=…&channel=…&type=…&mapping=<JSON>&fileName=…`
 * with the file as the body: the file is saved, a QUEUED `IMPORT` run is created
 * and the `import.file` job processes it; the answer (202) carries the run id to
 * poll (`connectorRun(id:)` in GraphQL).
 */
export function createImportRoute(imports: FileImportService, scheduler: ConnectionScheduler): HttpRoute {
  return {
    maxBodyBytes: MAX_IMPORT_UPLOAD_BYTES,
    matches: (_method, path) => path === '/imports',
    async handle(req, res, body, url) {
      if (req.method !== 'POST') return sendJson(res, 405, { code: ErrorCode.BAD_REQUEST, message: 'upload a file with POST' });
      if (!body || body.length === 0) return sendJson(res, 400, { code: ErrorCode.BAD_REQUEST, message: 'the request body must be the CSV or NDJSON file' });
      const query = url.searchParams;
      const format = query.get('format') ?? undefined;
      if (format !== undefined && format !== 'csv' && format !== 'ndjson') return sendJson(res, 400, { code: ErrorCode.BAD_REQUEST, message: 'format must be csv or ndjson' });
      let mapping: ImportMapping | undefined;
      const mappingText = query.get('mapping');
      if (mappingText) {
        try {
          const parsed: unknown = JSON.parse(mappingText);
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === 'string')) throw new Error('not an object of strings');
          mapping = parsed as ImportMapping;
        } catch {
          return sendJson(res, 400, { code: ErrorCode.BAD_REQUEST, message: 'mapping must be a JSON object of field → column, e.g. {"email":"Email"}' });
        }
      }
      const runId = await imports.queueUpload(body, {
        format: format as ImportFormat | undefined,
        mapping,
        source: query.get('source') ?? undefined,
        channel: query.get('channel') ?? undefined,
        type: query.get('type') ?? undefined,
        fileName: query.get('fileName') ?? undefined,
      });
      await scheduler.enqueueImport(runId);
      return sendJson(res, 202, { runId });
    },
  };
}
