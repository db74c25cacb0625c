import { useId, type ReactNode } from 'react';
import type { ComparisonOp, ScoreKind } from '../../gql/graphql';
import { ATTRIBUTE_FIELDS, BEHAVIOR_OPS, COMPARISON_OPS, SCORE_KINDS, newNode, replaceNode, type NodeType, type RuleProblem, type UiNode } from './rule';

const NODE_LABELS: Record<NodeType, string> = {
  and: 'All of (and)',
  or: 'Any of (or)',
  not: 'Not',
  attribute: 'Attribute',
  behavior: 'Behaviour',
  score: 'Score',
  inSegment: 'In segment',
  json: 'Other (JSON)',
};

export interface RuleEditorProps {
  root: UiNode;
  onChange: (root: UiNode) => void;
  /** Problems by API path; each is shown beside the part of the rule at fault. */
  problems: RuleProblem[];
  segments: { id: string; name: string }[];
}

/**
 * The visual editor of a rule tree: groups (and/or) hold conditions and other
 * groups, `not` wraps one node, and every condition is a row of labelled
 * inputs. Every control is a native input, select or button, so the whole
 * tree is reachable and editable by keyboard.
 */
export function RuleEditor({ root, onChange, problems, segments }: RuleEditorProps) {
  const datalist = useId();
  const update = (target: number, next: (node: UiNode) => UiNode | null) => onChange(replaceNode(root, target, next));
  return (
    <div className="rule-editor">
      <datalist id={datalist}>
        {ATTRIBUTE_FIELDS.map((f) => (
          <option key={f} value={f} />
        ))}
      </datalist>
      <NodeView node={root} path="rule" update={update} problems={problems} segments={segments} datalist={datalist} isRoot />
      <Problems problems={problems.filter((p) => p.field === 'rule' || !p.field.startsWith('rule'))} />
    </div>
  );
}

interface NodeProps {
  node: UiNode;
  path: string;
  update: (target: number, next: (node: UiNode) => UiNode | null) => void;
  problems: RuleProblem[];
  segments: { id: string; name: string }[];
  datalist: string;
  isRoot?: boolean;
}

/** The problems at exactly this path or inside a condition's own inputs (not in child nodes, which show their own). */
function problemsAt(problems: RuleProblem[], path: string, leaf: boolean): RuleProblem[] {
  return problems.filter((p) => (leaf ? p.field === path || p.field.startsWith(`${path}.`) : p.field === path));
}

function Problems({ problems }: { problems: RuleProblem[] }) {
  if (problems.length === 0) return null;
  return (
    <ul className="rule-problems" role="alert">
      {problems.map((p) => (
        <li key={p.field + p.message}>
          <code>{p.field}</code>: {p.message.startsWith(`${p.field} `) ? p.message.slice(p.field.length + 1) : p.message.replace(`${p.field}: `, '')}
        </li>
      ))}
    </ul>
  );
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <label className="rule-field">
      <span>{label}</span>
      {children}
    </label>
  );
}

function TypeSelect({ node, update, path }: { node: UiNode; update: NodeProps['update']; path: string }) {
  return (
    <Field label="Node">
      <select
        aria-label={`Kind of node ${path}`}
        value={node.type}
        onChange={(e) => {
          const type = e.target.value as NodeType;
          update(node.id, (current) => {
            // Switching between and/or keeps the children; wrapping in not keeps the node.
            if ((type === 'and' || type === 'or') && (current.type === 'and' || current.type === 'or')) return { ...current, type };
            if (type === 'not') return { ...newNode('not'), child: current } as UiNode;
            return newNode(type);
          });
        }}
      >
        {(Object.keys(NODE_LABELS) as NodeType[]).map((t) => (
          <option key={t} value={t}>
            {NODE_LABELS[t]}
          </option>
        ))}
      </select>
    </Field>
  );
}

function NodeView({ node, path, update, problems, segments, datalist, isRoot = false }: NodeProps) {
  const invalid = (suffix: string) => problems.some((p) => p.field === `${path}.${suffix}`) || undefined;
  const remove = isRoot ? null : (
    <button type="button" className="link-button" aria-label={`Remove ${path}`} onClick={() => update(node.id, () => null)}>
      Remove
    </button>
  );
  if (node.type === 'and' || node.type === 'or') {
    return (
      <fieldset className="rule-group" data-path={path}>
        <legend>
          {node.type === 'and' ? 'All of these hold' : 'Any of these holds'} <code className="muted">{path}</code>
        </legend>
        <div className="rule-row">
          <TypeSelect node={node} update={update} path={path} />
          {remove}
        </div>
        <Problems problems={problemsAt(problems, path, false).concat(problemsAt(problems, `${path}.${node.type}`, false))} />
        <ol className="rule-children">
          {node.children.map((child, i) => (
            <li key={child.id}>
              <NodeView node={child} path={`${path}.${node.type}[${i}]`} update={update} problems={problems} segments={segments} datalist={datalist} />
            </li>
          ))}
        </ol>
        <div className="rule-row">
          <AddButtons
            path={path}
            onAdd={(type) => update(node.id, (n) => (n.type === 'and' || n.type === 'or' ? { ...n, children: [...n.children, newNode(type)] } : n))}
          />
        </div>
      </fieldset>
    );
  }
  if (node.type === 'not') {
    return (
      <fieldset className="rule-group rule-not" data-path={path}>
        <legend>
          This does not hold <code className="muted">{path}</code>
        </legend>
        <div className="rule-row">
          <TypeSelect node={node} update={update} path={path} />
          {remove}
        </div>
        <Problems problems={problemsAt(problems, path, false)} />
        <NodeView node={node.child} path={`${path}.not`} update={update} problems={problems} segments={segments} datalist={datalist} />
      </fieldset>
    );
  }
  const set = (patch: Partial<UiNode>) => update(node.id, (n) => ({ ...n, ...patch }) as UiNode);
  let inputs: ReactNode;
  let at = path;
  switch (node.type) {
    case 'attribute':
      at = `${path}.attribute`;
      inputs = (
        <>
          <Field label="Field">
            <input list={datalist} value={node.field} aria-invalid={invalid('attribute.field')} onChange={(e) => set({ field: e.target.value })} />
          </Field>
          <Field label="Operator">
            <select value={node.op} aria-invalid={invalid('attribute.op')} onChange={(e) => set({ op: e.target.value as ComparisonOp })}>
              {COMPARISON_OPS.map((op) => (
                <option key={op}>{op}</option>
              ))}
            </select>
          </Field>
          <Field label={node.op === 'IN' || node.op === 'NOT_IN' ? 'Values (comma-separated)' : node.op === 'BETWEEN' ? 'Low, high' : 'Value'}>
            <input value={node.value} aria-invalid={invalid('attribute.value')} onChange={(e) => set({ value: e.target.value })} />
          </Field>
        </>
      );
      break;
    case 'behavior':
      at = `${path}.behavior`;
      inputs = (
        <>
          <Field label="Interaction type">
            <input value={node.eventType} size={10} aria-invalid={invalid('behavior.type')} onChange={(e) => set({ eventType: e.target.value })} />
          </Field>
          <Field label="Channel">
            <input
              value={node.channel}
              size={8}
              placeholder="any"
              aria-invalid={invalid('behavior.channel')}
              onChange={(e) => set({ channel: e.target.value })}
            />
          </Field>
          <Field label="Aggregate">
            <select value={node.aggregate} onChange={(e) => set({ aggregate: e.target.value as 'COUNT' | 'SUM' | 'DISTINCT_DAYS' })}>
              <option>COUNT</option>
              <option>SUM</option>
              <option>DISTINCT_DAYS</option>
            </select>
          </Field>
          <Field label="Last days">
            <input
              value={node.lastDays}
              inputMode="numeric"
              size={5}
              placeholder="all time"
              aria-invalid={invalid('behavior.lastDays')}
              onChange={(e) => set({ lastDays: e.target.value })}
            />
          </Field>
          <Field label="Operator">
            <select value={node.op} aria-invalid={invalid('behavior.op')} onChange={(e) => set({ op: e.target.value as ComparisonOp })}>
              {BEHAVIOR_OPS.map((op) => (
                <option key={op}>{op}</option>
              ))}
            </select>
          </Field>
          <Field label="Value">
            <input value={node.value} inputMode="decimal" size={6} aria-invalid={invalid('behavior.value')} onChange={(e) => set({ value: e.target.value })} />
          </Field>
        </>
      );
      break;
    case 'score':
      at = `${path}.score`;
      inputs = (
        <>
          <Field label="Score kind">
            <select value={node.kind} onChange={(e) => set({ kind: e.target.value as ScoreKind })}>
              {SCORE_KINDS.map((k) => (
                <option key={k}>{k}</option>
              ))}
            </select>
          </Field>
          <Field label="Labels (comma-separated)">
            <input value={node.labelIn} aria-invalid={invalid('score.labelIn')} onChange={(e) => set({ labelIn: e.target.value })} />
          </Field>
          <Field label="Operator">
            <select value={node.op} aria-invalid={invalid('score.op')} onChange={(e) => set({ op: e.target.value as ComparisonOp | '' })}>
              <option value="">(none)</option>
              {BEHAVIOR_OPS.map((op) => (
                <option key={op}>{op}</option>
              ))}
            </select>
          </Field>
          <Field label="Value">
            <input value={node.value} inputMode="decimal" size={6} aria-invalid={invalid('score.value')} onChange={(e) => set({ value: e.target.value })} />
          </Field>
        </>
      );
      break;
    case 'inSegment':
      at = `${path}.inSegment`;
      inputs = (
        <Field label="Segment">
          <select value={node.segmentId} aria-invalid={invalid('inSegment')} onChange={(e) => set({ segmentId: e.target.value })}>
            <option value="">(choose)</option>
            {segments.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </Field>
      );
      break;
    case 'json':
      inputs = (
        <Field label="Rule node (JSON)">
          <textarea rows={3} cols={50} value={node.json} spellCheck={false} onChange={(e) => set({ json: e.target.value })} />
        </Field>
      );
      break;
  }
  return (
    <div className="rule-condition" data-path={path} role="group" aria-label={`${NODE_LABELS[node.type]} condition ${path}`}>
      <div className="rule-row">
        <TypeSelect node={node} update={update} path={path} />
        {inputs}
        {remove}
      </div>
      <Problems problems={node.type === 'json' ? problemsAt(problems, path, true) : problemsAt(problems, path, false).concat(problemsAt(problems, at, true))} />
    </div>
  );
}

function AddButtons({ path, onAdd }: { path: string; onAdd: (type: NodeType) => void }) {
  return (
    <span className="rule-add">
      <span className="muted">Add:</span>
      {(['attribute', 'behavior', 'score', 'inSegment', 'and', 'or', 'not'] as NodeType[]).map((type) => (
        <button key={type} type="button" className="link-button" aria-label={`Add ${NODE_LABELS[type]} to ${path}`} onClick={() => onAdd(type)}>
          {NODE_LABELS[type]}
        </button>
      ))}
    </span>
  );
}
