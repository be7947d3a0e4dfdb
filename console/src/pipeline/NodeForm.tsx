/** The form of one node, generated from its type's schema (see fields.ts), with its problems. */
import { type ReactNode, useId } from 'react';
import {
  type FormField,
  formatList,
  formatValue,
  getIn,
  initialValues,
  type Problem,
  parseList,
  parseValue,
  problemsAt,
  setIn,
} from './fields.ts';
import type { PipelineNode } from './graph.ts';

interface Props {
  node: PipelineNode;
  fields: FormField[];
  problems: Problem[];
  /** Column names the node's inputs may offer (suggestions for column fields). */
  columns: string[];
  /** Suggestions for other text fields by key (`database`, `table`). */
  suggestions: Record<string, string[]>;
  /** The node's inputs, for fields that name one of them (a join's left and right). */
  parents: { id: string | number; name: string }[];
  readOnly: boolean;
  onChange(node: PipelineNode): void;
}

function Messages({ id, problems }: { id: string; problems: Problem[] }) {
  if (problems.length === 0) return null;
  return (
    <ul className="field-problems" id={id}>
      {problems.map((p) => (
        <li key={`${p.field}:${p.message}`}>{p.message}</li>
      ))}
    </ul>
  );
}

function Field({ field, path, props }: { field: FormField; path: string; props: Props }) {
  const id = useId();
  const value = getIn(props.node, path);
  const mine = props.problems.filter((p) => p.field === path);
  const described = mine.length > 0 ? `${id}-problems` : undefined;
  const set = (next: unknown) => props.onChange(setIn(props.node, path, next) as PipelineNode);
  const common = {
    id,
    disabled: props.readOnly,
    'aria-invalid': mine.length > 0 ? true : undefined,
    'aria-describedby': described,
  } as const;
  const list =
    field.kind === 'text' && (field.column || props.suggestions[field.key]) ? `${id}-list` : undefined;
  const label = (
    <label htmlFor={id}>
      {field.label}
      {field.required ? ' *' : ''}
    </label>
  );

  if (field.kind === 'list') {
    const rows = Array.isArray(value) ? value : [];
    return (
      <fieldset className={`form-list${problemsAt(props.problems, path).length ? ' invalid' : ''}`}>
        <legend>{field.label}</legend>
        {rows.map((_, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity of their own
          <div className="form-list-row" key={i}>
            {field.item.map((f) => (
              <Field key={f.key} field={f} path={`${path}.${i}.${f.key}`} props={props} />
            ))}
            {!props.readOnly && (
              <button
                type="button"
                className="small"
                aria-label={`Remove ${field.label.toLowerCase()} row ${i + 1}`}
                onClick={() => {
                  const left = rows.filter((__, j) => j !== i);
                  set(left.length === 0 && !field.required ? undefined : left);
                }}
              >
                Remove
              </button>
            )}
          </div>
        ))}
        {!props.readOnly && (
          <button type="button" className="small" onClick={() => set([...rows, initialValues(field.item)])}>
            Add {field.label.toLowerCase()} row
          </button>
        )}
        <Messages id={`${id}-problems`} problems={mine} />
      </fieldset>
    );
  }

  let control: ReactNode;
  switch (field.kind) {
    case 'enum':
      control = (
        <select
          {...common}
          value={typeof value === 'string' ? value : ''}
          onChange={(e) => set(e.target.value || undefined)}
        >
          {!field.required && <option value="">(none)</option>}
          {field.required && value === undefined && <option value="">Choose…</option>}
          {field.options.map((o) => (
            <option key={o}>{o}</option>
          ))}
        </select>
      );
      break;
    case 'boolean':
      control = (
        <input
          {...common}
          type="checkbox"
          checked={value === true}
          onChange={(e) => set(e.target.checked || undefined)}
        />
      );
      break;
    case 'number':
      control = (
        <input
          {...common}
          type="number"
          value={typeof value === 'number' || typeof value === 'string' ? value : ''}
          onChange={(e) => set(e.target.value === '' ? undefined : Number(e.target.value))}
        />
      );
      break;
    case 'strings':
      control = (
        <input
          {...common}
          placeholder={field.column ? 'column, column, …' : 'comma-separated'}
          value={formatList(value)}
          onChange={(e) => {
            const names = parseList(e.target.value);
            if (names.length === 0 && !field.required) set(undefined);
            else set(field.key === 'fieldList' ? names.map((name) => ({ name })) : names);
          }}
        />
      );
      break;
    case 'node':
      control = (
        <select
          {...common}
          value={value === undefined || value === null ? '' : String(value)}
          onChange={(e) => {
            const chosen = props.parents.find((p) => String(p.id) === e.target.value);
            set(chosen ? chosen.id : undefined);
          }}
        >
          <option value="">Choose an input…</option>
          {props.parents.map((p) => (
            <option key={String(p.id)} value={String(p.id)}>
              {p.name}
            </option>
          ))}
        </select>
      );
      break;
    case 'value':
      control = (
        <input {...common} value={formatValue(value)} onChange={(e) => set(parseValue(e.target.value))} />
      );
      break;
    default:
      control = field.multiline ? (
        <textarea
          {...common}
          rows={5}
          value={typeof value === 'string' ? value : ''}
          onChange={(e) => set(e.target.value)}
        />
      ) : (
        <input
          {...common}
          list={list}
          value={typeof value === 'string' ? value : ''}
          onChange={(e) => set(e.target.value === '' ? undefined : e.target.value)}
        />
      );
  }
  const options =
    field.kind === 'text' ? (field.column ? props.columns : (props.suggestions[field.key] ?? [])) : [];
  return (
    <div className={`form-field${mine.length ? ' invalid' : ''}`} data-field={path}>
      {field.kind === 'boolean' ? (
        <label htmlFor={id} className="inline">
          {control} {field.label}
        </label>
      ) : (
        <>
          {label}
          {control}
        </>
      )}
      {list && (
        <datalist id={list}>
          {options.map((o) => (
            <option key={o} value={o} />
          ))}
        </datalist>
      )}
      <Messages id={`${id}-problems`} problems={mine} />
    </div>
  );
}

export function NodeForm(props: Props) {
  const nameId = useId();
  const nameProblems = props.problems.filter((p) => p.field === 'name');
  const other = props.problems.filter(
    (p) =>
      p.field !== 'name' && !props.fields.some((f) => p.field === f.key || p.field.startsWith(`${f.key}.`)),
  );
  return (
    <form className="node-form" onSubmit={(e) => e.preventDefault()} aria-label={`Node ${props.node.name}`}>
      <div className={`form-field${nameProblems.length ? ' invalid' : ''}`} data-field="name">
        <label htmlFor={nameId}>Name *</label>
        <input
          id={nameId}
          value={props.node.name}
          disabled={props.readOnly}
          onChange={(e) => props.onChange({ ...props.node, name: e.target.value })}
        />
        <Messages id={`${nameId}-problems`} problems={nameProblems} />
      </div>
      {props.fields
        .filter((f) => f.key !== 'name')
        .map((f) => (
          <Field key={f.key} field={f} path={f.key} props={props} />
        ))}
      {other.length > 0 && (
        <div className="form-field invalid" data-field="">
          <span>Node problems</span>
          <Messages id={`${nameId}-other`} problems={other} />
        </div>
      )}
    </form>
  );
}
