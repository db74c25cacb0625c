import { BREAK, getNamedType, getOperationAST, isObjectType, Kind, visit, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
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
 * the compiled mutations, exposed fields whose property is the field's own
 * name lose that resolver: GraphQL's default resolver (and graphql-jit)
 * read the same property. The root fields' own types are always visited.
 */
export function inlineExposedFields(schema: GraphQLSchema): void {
  const seen = new Set<string>();
  const visitType = (type: ReturnType<typeof getNamedType>) => {
    if (!isObjectType(type) || seen.has(type.name)) return;
    seen.add(type.name);
    for (const field of Object.values(type.getFields())) {
      if (field.extensions?.pothosExposedField !== field.name) continue;
      field.resolve = undefined;
      // Only through exposed fields: types behind a resolver (say, a loaded customer) are left as they are.
      visitType(getNamedType(field.type));
    }
  };
  const mutation = schema.getMutationType();
  for (const name of COMPILED_ROOT_FIELDS) {
    const field = mutation?.getFields()[name];
    if (field) visitType(getNamedType(field.type));
  }
}

/**
 * Runs operations made only of COMPILED_ROOT_FIELDS, without string literals,
 * through graphql-jit; every other operation, and any document the compiler
 * declines, keeps the standard executor. When the variables do not coerce,
 * nothing has run yet, and the standard executor answers instead: its errors
 * name the row and field at fault (`input[1].occurredAt`), the compiled
 * parser's do not.
 */
export function compiledBatchExecution(): Plugin {
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();
  const inlined = new WeakSet<GraphQLSchema>();
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
      const eligible =
        operation?.operation === 'mutation' && operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && COMPILED_ROOT_FIELDS.has(s.name.value));
      if (!eligible) return;
      const query = compiledFor(args);
      if (!query) return;
      const standard = executeFn;
      setExecuteFn(async (executionArgs) => {
        const result = (await query.query(executionArgs.rootValue, executionArgs.contextValue, executionArgs.variableValues)) as ExecutionResult;
        return result.data === undefined ? standard(executionArgs) : result;
      });
    },
  };
}
