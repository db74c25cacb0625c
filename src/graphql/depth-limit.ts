import { GraphQLError, Kind, type ASTVisitor, type FragmentDefinitionNode, type SelectionSetNode, type ValidationContext } from 'graphql';
import { ErrorCode, errorMessage } from '../errors/catalog';

/**
 * Rejects operations nested deeper than `maxDepth` fields (fragments are
 * followed; introspection counts too). An introspection `ofType` step does not
 * count: it only unwraps a list or non-null type, ends at a named type within
 * a few steps whatever the query asks, and the introspection query of GraphiQL
 * and of graphql-js's `getIntrospectionQuery` chains nine of them.
 */
export function depthLimitRule(maxDepth: number) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);

    const depthOf = (set: SelectionSetNode | undefined, depth: number, seen: Set<string>): number => {
      if (!set) return depth;
      let max = depth;
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) {
          const level = sel.name.value === 'ofType' ? depth : depth + 1;
          max = Math.max(max, sel.selectionSet ? depthOf(sel.selectionSet, level, seen) : level);
        } else if (sel.kind === Kind.INLINE_FRAGMENT) max = Math.max(max, depthOf(sel.selectionSet, depth, seen));
        else if (!seen.has(sel.name.value)) {
          const fragment = fragments.get(sel.name.value);
          if (fragment) max = Math.max(max, depthOf(fragment.selectionSet, depth, new Set([...seen, sel.name.value])));
        }
        if (max > maxDepth) return max;
      }
      return max;
    };

    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, 0, new Set());
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(errorMessage('QUERY_TOO_DEEP', { depth, limit: maxDepth }), {
              nodes: [node],
              extensions: { code: ErrorCode.QUERY_TOO_DEEP },
            }),
          );
        }
      },
    };
  };
}
