import {
  BREAK,
  getNamedType,
  getOperationAST,
  isInterfaceType,
  isObjectType,
  Kind,
  visit,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';

/**
 * Batch mutations whose cost is dominated by their input: graphql-js coerces
 * a 1,000-row variable field by field through the type system (about a
 * quarter of the gateway's CPU per ingest batch). These run through a query
 * compiled once per document by graphql-jit, whose variable parsing and
 * result building are generated code.
 */
export const COMPILED_ROOT_FIELDS: ReadonlySet<string> = new Set(['recordInteractions', 'upsertCustomers']);

/**
 * Reads whose cost is per field: a customer page resolves and completes
 * thousands of fields, which the standard executor does one by one through
 * generic code (argument values, paths, promise bookkeeping per field). Queries
 * made only of these root fields run compiled. They are plain reads, with no
 * side effect (no audit entry, no write), so a compiled run that meets any
 * error can be dropped and the operation run again by the standard executor:
 * errors, their paths, messages and null propagation are always the standard
 * executor's.
 */
export const COMPILED_READ_FIELDS: ReadonlySet<string> = new Set(['customers', 'customer', 'interactions', 'node']);

/**
 * graphql-jit writes a document's literal argument values into the code it
 * generates, and a string shaped like its internal date marker becomes code
 * (graphql-jit 0.8.9: `source: "__MAGIC_DATE__…0)+(…)+(0"` runs whatever the
 * dots hold). Documents with a string literal anywhere are therefore never
 * compiled; clients send batches as variables, which are parsed at run time and
 * never become code. Names, numbers, booleans and enum values are lexer tokens
 * that cannot carry code.
 */
export function hasStringLiteral(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    StringValue() {
      found = true;
      return BREAK;
    },
  });
  return found;
}

/**
 * graphql-jit reads a field without a resolver as a property, inline; a field
 * with one (Pothos gives every exposed field `(parent) => parent[name]`)
 * costs a call, an info object and a path per row. In the result types of
 * the compiled operations, exposed fields whose property is the field's own
 * name lose that resolver: GraphQL's default resolver (and graphql-jit)
 * read the same property. A field whose resolver masks personal data
 * (`piiMasked`, see access/pii.ts) keeps it: the mask is that resolver.
 *
 * Batch results are walked through exposed fields only (the types behind a
 * resolver, say a loaded customer, are not part of the batch's answer); the
 * read roots' types are walked through every field, interfaces' possible
 * types included, since their whole tree is what a page reads.
 */
export function inlineExposedFields(schema: GraphQLSchema): void {
  const seen = new Set<string>();
  const visitType = (type: GraphQLNamedType, everyField: boolean) => {
    if (seen.has(type.name)) return;
    if (isInterfaceType(type)) {
      seen.add(type.name);
      for (const possible of schema.getPossibleTypes(type)) visitType(possible, everyField);
      return;
    }
    if (!isObjectType(type)) return;
    seen.add(type.name);
    for (const field of Object.values(type.getFields())) {
      const exposed = field.extensions?.pothosExposedField === field.name && !field.extensions?.piiMasked;
      if (exposed) field.resolve = undefined;
      if (exposed || everyField) visitType(getNamedType(field.type), everyField);
    }
  };
  const mutation = schema.getMutationType();
  for (const name of COMPILED_ROOT_FIELDS) {
    const field = mutation?.getFields()[name];
    if (field) visitType(getNamedType(field.type), false);
  }
  seen.clear();
  const query = schema.getQueryType();
  for (const name of COMPILED_READ_FIELDS) {
    const field = query?.getFields()[name];
    if (field) visitType(getNamedType(field.type), true);
  }
}

/**
 * Compiling a document costs far more than running it once; a read is
 * compiled at its COMPILE_READ_AFTER-th run (the parse cache hands back the
 * same document for the same text), so one-off documents (an explorer's
 * queries, a client sending endless distinct documents) never pay it and
 * never fill the cache. A batch mutation is compiled at once: its rows repay it.
 */
const COMPILE_READ_AFTER = 3;

/**
 * Runs operations made only of COMPILED_ROOT_FIELDS (mutations) or only of
 * COMPILED_READ_FIELDS (queries), without string literals, through
 * graphql-jit; every other operation, and any document the compiler
 * declines, keeps the standard executor.
 *
 * A batch whose variables do not coerce has run nothing yet, and the
 * standard executor answers instead: its errors name the row and field at
 * fault (`input[1].occurredAt`), the compiled parser's do not. A read's
 * variables (a few, unlike a batch's rows) are judged by graphql-js first,
 * so the compiled parser never accepts what graphql-js refuses; and a read
 * whose compiled run meets any error is run again by the standard executor,
 * whose answer is the one sent.
 */
export function compiledBatchExecution(): Plugin {
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();
  const inlined = new WeakSet<GraphQLSchema>();
  const runs = new WeakMap<DocumentNode, number>();
  /** A read is compiled once it has run COMPILE_READ_AFTER times: only documents a client repeats repay the compile. */
  const hot = (document: DocumentNode) => {
    const seen = (runs.get(document) ?? 0) + 1;
    runs.set(document, seen);
    return seen >= COMPILE_READ_AFTER;
  };
  const compiledFor = (args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null }) => {
    if (!inlined.has(args.schema)) {
      inlineExposedFields(args.schema);
      inlined.add(args.schema);
    }
    let byName = compiled.get(args.document);
    if (!byName) compiled.set(args.document, (byName = new Map()));
    const name = args.operationName ?? '';
    const cached = byName.get(name);
    if (cached !== undefined) return cached;
    const result = hasStringLiteral(args.document) ? null : compileQuery(args.schema, args.document, args.operationName ?? undefined);
    const entry = result && isCompiledQuery(result) ? result : null;
    byName.set(name, entry);
    return entry;
  };
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return;
      const onlyOf = (fields: ReadonlySet<string>) => operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && fields.has(s.name.value));
      const read = operation.operation === 'query' && onlyOf(COMPILED_READ_FIELDS);
      if (!read && !(operation.operation === 'mutation' && onlyOf(COMPILED_ROOT_FIELDS))) return;
      if (read && !hot(args.document)) return;
      const query = compiledFor(args);
      if (!query) return;
      const standard = executeFn;
      setExecuteFn(async (executionArgs) => {
        const variables = executionArgs.variableValues ?? {};
        if (read && getVariableValues(executionArgs.schema, operation.variableDefinitions ?? [], variables).errors) return standard(executionArgs);
        let result: ExecutionResult;
        try {
          result = (await query.query(executionArgs.rootValue, executionArgs.contextValue, variables)) as ExecutionResult;
        } catch (error) {
          // A read has written nothing: the standard executor answers for it. A batch may have: its failure stands.
          if (read) return standard(executionArgs);
          throw error;
        }
        if (result.data === undefined || (read && result.errors?.length)) return standard(executionArgs);
        return result;
      });
    },
  };
}
