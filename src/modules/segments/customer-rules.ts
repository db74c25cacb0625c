import { fail, RapportError } from '../../errors/catalog';
import type { CustomerRules } from '../scores';
import { compileBehaviorAggregate, compileRule } from './rules/compile';
import type { BehaviorCondition, SegmentRule } from './rules/rule';
import type { SegmentService } from './segment.service';

/**
 * The segment rule language as the score kinds use it (CHURN_PROPENSITY's
 * population, outcome and behaviour features): validated as segment rules
 * are, compiled by the same compiler. Handed to the scores module by the
 * assembler (`customerRules`), since scores cannot import segments.
 */
export function createCustomerRules(segments: SegmentService): CustomerRules {
  return {
    check: (input, { root, piiRead }) => segments.validateRule(input, { root, access: { piiRead } }),

    async checkBehavior(input, { root, piiRead }) {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw fail('SEGMENT_RULE_INVALID', { detail: `invalid rule at ${root}: ${root} must be an object` }, root);
      }
      for (const key of ['op', 'value'])
        if (key in input) {
          throw fail(
            'SEGMENT_RULE_INVALID',
            { detail: `invalid rule at ${root}.${key}: a behaviour feature is the aggregate itself; it takes no ${key}` },
            `${root}.${key}`,
          );
        }
      // Validated as the behaviour condition it would be, with a comparison that is never read; problems are
      // reported at the feature's own path.
      const wrapped = `${root}.behavior`;
      try {
        const rule = (await segments.validateRule({ behavior: { ...input, op: 'GTE', value: 0 } }, { root, access: { piiRead } })) as {
          behavior: BehaviorCondition;
        };
        const { op: _op, value: _value, ...aggregate } = rule.behavior;
        return aggregate;
      } catch (error) {
        // What validateRule throws: SEGMENT_RULE_INVALID, or FORBIDDEN on personal data (both a plain detail).
        if (!(error instanceof RapportError) || (error.code !== 'SEGMENT_RULE_INVALID' && error.code !== 'FORBIDDEN')) throw error;
        const at = (text: string) => text.split(wrapped).join(root);
        throw fail(error.code, { detail: at(error.message) }, error.field === undefined ? undefined : at(error.field), error.details);
      }
    },

    isPersonalTrait: (path) => segments.personalData.traits.isPersonalPath(path),

    matching: (rule, p) => compileRule(rule as SegmentRule, p).sql,

    aggregate: (behavior, p, options) => compileBehaviorAggregate({ ...(behavior as BehaviorCondition), op: 'GTE', value: 0 }, p, options),
  };
}
