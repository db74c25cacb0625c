import { Kind, type FieldNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

/**
 * Whether the selections under `fields` reach a field by `path` (field names,
 * aliases ignored), through fragments and inline fragments. For a resolver
 * that can read more in its own statement when the client asks for it; a
 * field under @skip or @include counts as selected (reading it is harmless).
 */
export function selectsField(fields: readonly FieldNode[], fragments: Record<string, FragmentDefinitionNode>, path: readonly string[]): boolean {
  const reaches = (set: SelectionSetNode | undefined, at: number, seen: ReadonlySet<string>): boolean => {
    if (!set) return false;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === path[at] && (at === path.length - 1 || reaches(selection.selectionSet, at + 1, seen))) return true;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (reaches(selection.selectionSet, at, seen)) return true;
      } else if (!seen.has(selection.name.value)) {
        if (reaches(fragments[selection.name.value]?.selectionSet, at, new Set([...seen, selection.name.value]))) return true;
      }
    }
    return false;
  };
  return path.length > 0 && fields.some((field) => reaches(field.selectionSet, 0, new Set()));
}
