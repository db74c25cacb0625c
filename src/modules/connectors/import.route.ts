import { ErrorCode } from '../../errors/catalog';
import { sendJson, type HttpRoute, type RouteRefusal } from '../../infra/http';
import type { IncomingMessage } from 'node:http';
import type { ConnectionScheduler } from './connectors.jobs';
import type { FileImportService, ImportFormat, ImportMapping } from './file-import.service';
import { multipartBoundary, parseMultipart } from './multipart';

/** Largest upload `POST /imports` accepts. */
export const MAX_IMPORT_UPLOAD_BYTES = 256 * 1024 * 1024;

/** Decides whether a request may upload: the same credentials and scope (`connectors:admin`) as the GraphQL API. */
export type UploadAuthorizer = (req: IncomingMessage) => Promise<{ ok: true } | { ok: false; status: 401 | 403; code: ErrorCode; message: string }>;

/**
 * `POST /imports`: a `multipart/form-data` upload (the file in a part named `file`,
 * options as fields `format`, `source`, `channel`, `type`, `mapping`), or the raw
 * file as the body with the options as query parameters (`?format=csv&fileName=…`).
 * The file is saved, a QUEUED `IMPORT` run is created
 * and the `import.file` job processes it; the answer (202) carries the run id to
 * poll (`connectorRun(id:)` in GraphQL).
 */
export function createImportRoute(imports: FileImportService, scheduler: ConnectionScheduler, authorize: UploadAuthorizer): HttpRoute {
  return {
    maxBodyBytes: MAX_IMPORT_UPLOAD_BYTES,
    matches: (_method, path) => path === '/imports',
    // Method and credentials are checked before a byte of the upload is read.
    async admit(req): Promise<RouteRefusal | undefined> {
      if (req.method !== 'POST') return { status: 405, code: ErrorCode.BAD_REQUEST, message: 'upload a file with POST', headers: { allow: 'POST' } };
      const allowed = await authorize(req);
      if (allowed.ok) return undefined;
      return {
        status: allowed.status,
        code: allowed.code,
        message: allowed.message,
        headers: allowed.status === 401 ? { 'www-authenticate': 'Bearer realm="rapport"' } : undefined,
      };
    },
    async handle(req, res, body, url) {
      if (!body || body.length === 0) return sendJson(res, 400, { code: ErrorCode.BAD_REQUEST, message: 'the request body must be the CSV or NDJSON file' });
      const query = new URLSearchParams(url.searchParams);
      let file = body;
      const boundary = multipartBoundary(req.headers['content-type']);
      if (boundary) {
        let parts;
        try {
          parts = parseMultipart(body, boundary);
        } catch (error) {
          return sendJson(res, 400, { code: ErrorCode.BAD_REQUEST, message: `malformed multipart body: ${(error as Error).message}` });
        }
        const filePart = parts.find((part) => part.name === 'file') ?? parts.find((part) => part.filename !== undefined);
        if (!filePart) return sendJson(res, 400, { code: ErrorCode.BAD_REQUEST, message: 'the multipart upload has no file part (name it "file")' });
        file = filePart.data;
        if (filePart.filename && !query.has('fileName')) query.set('fileName', filePart.filename);
        for (const part of parts) if (part !== filePart && part.filename === undefined) query.set(part.name, part.data.toString('utf8'));
      }
      if (file.length === 0) return sendJson(res, 400, { code: ErrorCode.BAD_REQUEST, message: 'the uploaded file is empty' });
      const format = query.get('format') ?? undefined;
      if (format !== undefined && format !== 'csv' && format !== 'ndjson')
        return sendJson(res, 400, { code: ErrorCode.BAD_REQUEST, message: 'format must be csv or ndjson' });
      let mapping: ImportMapping | undefined;
      const mappingText = query.get('mapping');
      if (mappingText) {
        try {
          const parsed: unknown = JSON.parse(mappingText);
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === 'string'))
            throw new Error('not an object of strings');
          mapping = parsed as ImportMapping;
        } catch {
          return sendJson(res, 400, { code: ErrorCode.BAD_REQUEST, message: 'mapping must be a JSON object of field → column, e.g. {"email":"Email"}' });
        }
      }
      const runId = await imports.queueUpload(file, {
        format: format as ImportFormat | undefined,
        mapping,
        source: query.get('source') ?? undefined,
        channel: query.get('channel') ?? undefined,
        type: query.get('type') ?? undefined,
        fileName: query.get('fileName') ?? undefined,
      });
      try {
        await scheduler.enqueueImport(runId);
      } catch (error) {
        // The gateway answers 503 (the queue is away): the run it created must not wait forever.
        await imports.abandonUpload(runId, `could not queue the import: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      }
      return sendJson(res, 202, { runId });
    },
  };
}
