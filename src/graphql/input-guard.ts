import {
  getNullableType,
  getOperationAST,
  GraphQLError,
  isInputObjectType,
  isListType,
  Kind,
  TypeInfo,
  typeFromAST,
  valueFromASTUntyped,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLInputObjectType,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors/catalog';
import { JSON_LIMITS, keySegment, textProblem } from '@rapport/connector-kit';

/** Limits every GraphQL input stays inside, checked before execution. */
export const INPUT_LIMITS = {
  ...JSON_LIMITS,
  /**
   * Input objects inside one value of a self-nesting input type (a customer
   * or interaction filter, a segment rule): each becomes SQL, so a filter
   * with 70,000 branches is refused here rather than by Postgres.
   */
  maxTreeNodes: 1_000,
  /** Brackets and braces open at once in a document, selections and literals together. */
  maxDocumentNesting: 128,
} as const;

/**
 * Refuses, with a stable code and the field at fault, what would otherwise
 * reach the database or the stack as a 500:
 * - INVALID_TEXT: a NUL character or an unpaired surrogate in any string or
 *   JSON key, in a variable or a literal argument;
 * - INVALID_FIELD: a number too large for a double (1e400 reads as Infinity);
 * - INPUT_TOO_COMPLEX: an input nested deeper than `maxDepth`, a list longer
 *   than `maxListItems`, or a filter or rule tree of more than `maxTreeNodes`.
 *
 * Variables are checked as the client sent them, before graphql-js coerces
 * them (coercion recurses, so a 20,000-level variable would exhaust the stack
 * there). The walk stops at the depth limit, so it never recurses further.
 */
export function inputGuard(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const problem = findInputProblem(args.schema, args.document, args.operationName ?? undefined, args.variableValues as Record<string, unknown> | undefined);
      if (problem) setResultAndStopExecution({ errors: [problem] });
    },
  };
}

/**
 * Before parsing: a document nested deeper than `maxDocumentNesting` is
 * refused. graphql-js parses recursively and runs out of stack on a few
 * thousand levels, well inside the token limit; this scan does not recurse.
 */
export function documentNestingError(source: string, limit: number = INPUT_LIMITS.maxDocumentNesting): GraphQLError | undefined {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x23 /* # */) {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
    } else if (c === 0x22 /* " */) {
      if (source.startsWith('"""', i)) {
        const end = findBlockStringEnd(source, i + 3);
        i = end < 0 ? source.length : end + 2;
      } else {
        i++;
        while (i < source.length && source[i] !== '"' && source[i] !== '\n') i += source[i] === '\\' ? 2 : 1;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */ || c === 0x28 /* ( */) {
      if (++depth > limit) {
        return new GraphQLError(`the document nests brackets more than ${limit} levels deep`, { extensions: { code: ErrorCode.INPUT_TOO_COMPLEX } });
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */ || c === 0x29 /* ) */) {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}

function findBlockStringEnd(source: string, from: number): number {
  for (let i = from; i < source.length; i++) {
    if (source[i] === '\\' && source.startsWith('\\"""', i)) i += 3;
    else if (source.startsWith('"""', i)) return i;
  }
  return -1;
}

/** The first problem of an operation's inputs, as the GraphQL error to answer, or undefined. */
export function findInputProblem(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> | undefined,
): GraphQLError | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined;
  const walker = new Walker(schema);
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const value = variables?.[name];
    if (value === undefined) continue;
    const type = typeFromAST(schema, definition.type) as GraphQLInputType | undefined;
    const problem = walker.check(value, type, `$${name}`);
    if (problem) return problem;
  }
  // Literal arguments, in the operation and the fragments it may spread. Variables inside literals were checked above.
  let found: GraphQLError | undefined;
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Argument(node) {
        if (found || node.value.kind === Kind.VARIABLE) return false;
        const field = typeInfo.getFieldDef()?.name ?? typeInfo.getDirective()?.name ?? '?';
        found = walker.check(valueFromASTUntyped(node.value), typeInfo.getInputType() ?? undefined, `${field}.${node.name.value}`);
        return false;
      },
    }),
  );
  return found;
}

type Problem = { code: ErrorCode; field: string; message: string };

/**
 * Walks one input value against its GraphQL type (unknown below a JSON
 * scalar). A batch of 5,000 rows is walked on every call, so the path is kept
 * as a stack of segments and written out only for a problem.
 */
class Walker {
  private readonly selfNesting: Set<string>;
  private segments: string[] = [];
  private treeNodes = 0;
  private treeDepth = -1;

  constructor(schema: GraphQLSchema) {
    this.selfNesting = selfNestingInputTypes(schema);
  }

  check(value: unknown, type: GraphQLInputType | undefined, path: string): GraphQLError | undefined {
    this.segments = [path];
    this.treeNodes = 0;
    this.treeDepth = -1;
    const problem = this.walk(value, type, 1);
    return problem && new GraphQLError(problem.message, { extensions: { code: problem.code, field: problem.field } });
  }

  private path(length = this.segments.length): string {
    return this.segments.slice(0, length).join('');
  }

  private walk(value: unknown, type: GraphQLInputType | undefined, depth: number): Problem | undefined {
    if (typeof value === 'string') {
      const problem = textProblem(value);
      if (!problem) return undefined;
      const field = this.path();
      return { code: ErrorCode.INVALID_TEXT, field, message: `${field} ${problem}` };
    }
    // JSON allows numbers past a double's range (1e400): they parse as Infinity, which no column or jsonb takes.
    if (typeof value === 'number' && !Number.isFinite(value)) {
      const field = this.path();
      return { code: ErrorCode.INVALID_FIELD, field, message: `${field} is not a finite number` };
    }
    if (typeof value !== 'object' || value === null) return undefined;
    if (depth > INPUT_LIMITS.maxDepth) {
      const field = this.path();
      return { code: ErrorCode.INPUT_TOO_COMPLEX, field, message: `${field} nests deeper than ${INPUT_LIMITS.maxDepth} levels` };
    }
    const named = type && getNullableType(type);
    if (Array.isArray(value)) {
      if (value.length > INPUT_LIMITS.maxListItems) {
        const field = this.path();
        return { code: ErrorCode.INPUT_TOO_COMPLEX, field, message: `${field} has ${value.length} items; the limit is ${INPUT_LIMITS.maxListItems}` };
      }
      // A single value where a list is expected is coerced as a one-item list: the items have the list's item type.
      const itemType = named && isListType(named) ? (named.ofType as GraphQLInputType) : named && isInputObjectType(named) ? named : undefined;
      for (let i = 0; i < value.length; i++) {
        this.segments.push(`[${i}]`);
        const problem = this.walk(value[i], itemType, depth + 1);
        this.segments.pop();
        if (problem) return problem;
      }
      return undefined;
    }
    const objectType = named && isListType(named) ? getNullableType(named.ofType) : named;
    const inputObject = objectType && isInputObjectType(objectType) ? (objectType as GraphQLInputObjectType) : undefined;
    let opened = false;
    if (inputObject && this.selfNesting.has(inputObject.name)) {
      if (this.treeDepth < 0) {
        this.treeDepth = this.segments.length;
        opened = true;
      }
      if (++this.treeNodes > INPUT_LIMITS.maxTreeNodes) {
        const field = this.path(this.treeDepth);
        return {
          code: ErrorCode.INPUT_TOO_COMPLEX,
          field,
          message: `${field} has more than ${INPUT_LIMITS.maxTreeNodes} conditions; the limit is ${INPUT_LIMITS.maxTreeNodes}`,
        };
      }
    }
    const fields = inputObject?.getFields();
    let position = 0;
    for (const key in value) {
      if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
      const child = (value as Record<string, unknown>)[key];
      const keyProblem = textProblem(key);
      if (keyProblem) {
        const field = this.path();
        return { code: ErrorCode.INVALID_TEXT, field, message: `a key of ${field} ${keyProblem}` };
      }
      const childType = fields ? fields[key]?.type : undefined;
      // Unknown fields of a typed object are graphql-js's to refuse; their values are still checked.
      this.segments.push(fields ? (childType ? `.${key}` : '.?') : keySegment(key, position));
      position++;
      const problem = this.walk(child, childType, depth + 1);
      this.segments.pop();
      if (problem) return problem;
    }
    if (opened) this.treeDepth = -1;
    return undefined;
  }
}

const selfNestingCache = new WeakMap<GraphQLSchema, Set<string>>();

/** Input object types that can contain themselves (filters with and/or/not, rule trees). */
function selfNestingInputTypes(schema: GraphQLSchema): Set<string> {
  const cached = selfNestingCache.get(schema);
  if (cached) return cached;
  const inputs = Object.values(schema.getTypeMap()).filter(isInputObjectType);
  const children = new Map(
    inputs.map((t) => [
      t.name,
      Object.values(t.getFields())
        .map((f) => getNamedInput(f.type))
        .filter((n): n is string => n !== undefined),
    ]),
  );
  const result = new Set<string>();
  for (const start of inputs) {
    const seen = new Set<string>();
    const queue = [...(children.get(start.name) ?? [])];
    for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
      if (next === start.name) {
        result.add(start.name);
        break;
      }
      if (seen.has(next)) continue;
      seen.add(next);
      queue.push(...(children.get(next) ?? []));
    }
  }
  selfNestingCache.set(schema, result);
  return result;
}

function getNamedInput(type: GraphQLInputType): string | undefined {
  let t: unknown = type;
  while (t && typeof t === 'object' && 'ofType' in t) t = (t as { ofType: unknown }).ofType;
  return isInputObjectType(t) ? t.name : undefined;
}
