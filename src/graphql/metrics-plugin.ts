import { getOperationAST, Kind, type DocumentNode, type GraphQLError, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { graphqlDuration, graphqlOperations } from '../infra/metrics';
import { activeSpan } from '../infra/tracing';

/**
 * Counts and times GraphQL operations by type and root field. The label is
 * the root field (`customers`, `recordInteractions`), never the client's
 * operation name: root fields are bounded by the schema, operation names are
 * whatever a client sends. An operation with several root fields counts once
 * for each.
 */
export function graphqlMetrics(): Plugin {
  return {
    onValidate({ params }) {
      return ({ valid, result }) => {
        if (valid) return;
        const operation = getOperationAST(params.documentAST);
        const code = codeOf(result as readonly GraphQLError[]);
        graphqlOperations.inc({ type: operation?.operation ?? 'unknown', operation: 'invalid', code });
      };
    },
    onExecute({ args }) {
      const operation = getOperationAST(args.document, args.operationName);
      const type = operation?.operation ?? 'unknown';
      const fields = operation ? rootFieldNames(args.document, operation) : [];
      activeSpan()?.updateName(`graphql ${type} ${fields.join(',') || 'anonymous'}`);
      const started = process.hrtime.bigint();
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in result) return;
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const code = result.errors?.length ? codeOf(result.errors) : 'OK';
          for (const field of fields.length ? fields : ['unknown']) {
            graphqlOperations.inc({ type, operation: field, code });
            graphqlDuration.observe({ type, operation: field }, seconds);
          }
        },
      };
    },
  };
}

/** The stable code of the first error: its `extensions.code`, the code of the error it wraps, or INTERNAL_SERVER_ERROR. */
function codeOf(errors: readonly GraphQLError[]): string {
  const first = errors[0];
  if (!first) return 'OK';
  const code = first.extensions?.code ?? (first.originalError as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[A-Z_]{2,64}$/.test(code) ? code : 'INTERNAL_SERVER_ERROR';
}

/** Names of the root fields an operation selects (through fragments; no directives applied), each once, in order. */
function rootFieldNames(document: DocumentNode, operation: OperationDefinitionNode): string[] {
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])));
  const names = new Set<string>();
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment);
      }
    }
  };
  walk(operation.selectionSet);
  return [...names];
}
