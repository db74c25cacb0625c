import {
  getOperationAST,
  GraphQLError,
  Kind,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { ErrorCode, errorMessage } from '../../errors/catalog';
import { PAGE_LIMITS } from '../../infra/sql-filter';

/**
 * Cost of an operation: every field costs 1; a field taking `first` multiplies
 * the cost of what it selects by that page size (from its literal or variable,
 * the default page size when absent) — so nested lists are priced by the rows
 * they can return. Computed per execution, when variables are known.
 */
export function operationCost(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const operation = getOperationAST(document, operationName);
  if (!operation) return 0;

  const pageOf = (field: FieldNode): number => {
    const first = field.arguments?.find((a) => a.name.value === 'first');
    const isConnection = Boolean(field.selectionSet?.selections.some((s) => s.kind === Kind.FIELD && s.name.value === 'edges'));
    if (!first) return isConnection ? PAGE_LIMITS.default : 1;
    if (first.value.kind === Kind.INT) return Math.max(1, Number(first.value.value));
    if (first.value.kind === Kind.VARIABLE) {
      const value = variables?.[first.value.name.value];
      return typeof value === 'number' && value > 0 ? value : isConnection ? PAGE_LIMITS.default : 1;
    }
    return 1;
  };
  const cost = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
    if (!set) return 0;
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) total += 1 + pageOf(sel) * cost(sel.selectionSet, seen);
      else if (sel.kind === Kind.INLINE_FRAGMENT) total += cost(sel.selectionSet, seen);
      else if (!seen.has(sel.name.value)) {
        const fragment = fragments.get(sel.name.value);
        if (fragment) total += cost(fragment.selectionSet, new Set([...seen, sel.name.value]));
      }
    }
    return total;
  };
  return cost(operation.selectionSet, new Set());
}

export function costError(cost: number, limit: number): GraphQLError {
  return new GraphQLError(`the query costs ${cost}; the limit is ${limit} (ask for smaller pages or fewer nested lists)`, {
    extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, cost, limit },
  });
}

/** Aliases multiply work without multiplying the document: cap them. */
export function aliasLimitRule(maxAliases: number) {
  return (context: ValidationContext): ASTVisitor => {
    let count = 0;
    return {
      Field(node) {
        if (node.alias) count++;
      },
      Document: {
        leave(node) {
          if (count > maxAliases) {
            context.reportError(
              new GraphQLError(`the document uses ${count} aliases; the limit is ${maxAliases}`, {
                nodes: [node],
                extensions: { code: ErrorCode.QUERY_TOO_COMPLEX },
              }),
            );
          }
        },
      },
    };
  };
}

/** Introspection can be turned off (RAPPORT_INTROSPECTION=false); `__typename` stays available. */
export function introspectionRule() {
  return (context: ValidationContext): ASTVisitor => ({
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        context.reportError(
          new GraphQLError(errorMessage('INTROSPECTION_DISABLED', {}), { nodes: [node], extensions: { code: ErrorCode.INTROSPECTION_DISABLED } }),
        );
      }
    },
  });
}
