import { MASK, maskText, type PersonalDataPolicy } from '../../access';
import { ATTRIBUTE_FIELDS } from './fields';
import type { SegmentRule } from './rule';

/**
 * Conditions of a rule on personal data. A rule that tests a name, a personal
 * trait or a personal interaction property tells whoever sees its matches
 * something about that value (previewSegment counts answer `STARTS_WITH "A"`
 * one letter at a time), so such rules, and the members of segments built on
 * them, are for callers with `pii:read` only.
 */

/** One condition on personal data: where it is in the rule, and what it reads. */
export interface PersonalCondition {
  /** Path of the offending input field, e.g. `rule.and[0].attribute.field`. */
  field: string;
  /** What it reads, e.g. `displayName`, `traits.contact.email`, `properties.email`. */
  what: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether an attribute condition's field (`displayName`, `traits.<path>`) is personal. */
export function isPersonalAttribute(field: string, policy: PersonalDataPolicy): boolean {
  if (field.startsWith('traits.')) return policy.traits.isPersonalPath(field.slice('traits.'.length));
  return ATTRIBUTE_FIELDS[field]?.personal === true;
}

/** Every condition of a (validated) rule that reads personal data, depth first. */
export function personalConditions(rule: SegmentRule, policy: PersonalDataPolicy, root = 'rule'): PersonalCondition[] {
  const out: PersonalCondition[] = [];
  const walk = (node: SegmentRule, path: string) => {
    if ('and' in node) node.and.forEach((n, i) => walk(n, `${path}.and[${i}]`));
    else if ('or' in node) node.or.forEach((n, i) => walk(n, `${path}.or[${i}]`));
    else if ('not' in node) walk(node.not, `${path}.not`);
    else if ('attribute' in node) {
      if (isPersonalAttribute(node.attribute.field, policy)) out.push({ field: `${path}.attribute.field`, what: node.attribute.field });
    } else if ('behavior' in node) {
      (node.behavior.where ?? []).forEach((w, i) => {
        if (policy.properties.isPersonalPath(w.path)) out.push({ field: `${path}.behavior.where[${i}].path`, what: `properties.${w.path}` });
      });
    }
  };
  walk(rule, root);
  return out;
}

function maskValue(value: unknown): unknown {
  if (value === undefined || value === null) return value;
  return Array.isArray(value) ? value.map(maskValue) : MASK;
}

/**
 * A copy of a rule (stored form or its JSON output) with the values compared
 * by personal conditions masked: the rule's shape stays readable, the name or
 * email it looks for does not.
 */
export function maskRule(rule: unknown, policy: PersonalDataPolicy, depth = 0): unknown {
  if (!isObject(rule) || depth > 64) return rule;
  const out: Json = { ...rule };
  if (Array.isArray(rule.and)) out.and = rule.and.map((r) => maskRule(r, policy, depth + 1));
  if (Array.isArray(rule.or)) out.or = rule.or.map((r) => maskRule(r, policy, depth + 1));
  if (isObject(rule.not)) out.not = maskRule(rule.not, policy, depth + 1);
  if (isObject(rule.attribute) && typeof rule.attribute.field === 'string' && isPersonalAttribute(rule.attribute.field, policy)) {
    out.attribute = { ...rule.attribute, value: maskValue(rule.attribute.value) };
  }
  if (isObject(rule.behavior) && Array.isArray(rule.behavior.where)) {
    out.behavior = {
      ...rule.behavior,
      where: rule.behavior.where.map((w: unknown) =>
        isObject(w) && typeof w.path === 'string' && policy.properties.isPersonalPath(w.path) ? { ...w, value: maskValue(w.value) } : w,
      ),
    };
  }
  return out;
}

/**
 * A leaf's figure as a caller without `pii:read` may see it: a name masked
 * like Customer.displayName, a personal trait masked whole, any other trait
 * value (which may be an object) with its personal keys masked.
 */
export function maskFigure(leaf: SegmentRule, figure: unknown, policy: PersonalDataPolicy): unknown {
  if (!('attribute' in leaf)) return figure;
  const field = leaf.attribute.field;
  if (field.startsWith('traits.')) {
    if (policy.traits.isPersonalPath(field.slice('traits.'.length))) return figure === null || figure === undefined ? figure : MASK;
    return policy.traits.mask(figure);
  }
  return ATTRIBUTE_FIELDS[field]?.personal ? maskText(figure) : figure;
}
