import { type Acknowledgment, type PolicyViolation, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { describe, expect, it, vi } from 'vitest';
import { nagPacks } from '#lib/nag';
import { synthesize, synthesizeBeforeAll } from './synth.ts';

const synth = synthesizeBeforeAll();

function describeViolations(violations: PolicyViolation[]): string {
  return violations
    .map((v) => {
      const where = v.violatingResources
        .map((r) => `    at ${r.constructPath ?? r.resourceLogicalId}`)
        .join('\n');
      return `${v.severity?.toUpperCase() ?? 'ERROR'} ${v.ruleName}: ${v.description}\n${where}`;
    })
    .join('\n');
}

interface Acknowledgement {
  path: string;
  construct: IConstruct;
  id: string;
  reason: string;
}

function acknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          construct,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag', () => {
  it('finds no unacknowledged AwsSolutions or Serverless violations', () => {
    const violations = nagPacks().flatMap((pack) => pack.validateScope(synth.app).violations);
    expect(violations, `\n${describeViolations(violations)}\n`).toEqual([]);
  });

  it('gives every acknowledgement a specific reason', () => {
    const acks = acknowledgements(synth.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.reason.trim().length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(60);
    }
  });

  it('acknowledges findings on resources, never on a whole stack or app', () => {
    for (const ack of acknowledgements(synth.app)) {
      expect(
        Stack.isStack(ack.construct) || ack.construct.node.scope === undefined,
        `${ack.id} at ${ack.path}`,
      ).toBe(false);
    }
  });

  it('acknowledges single findings, not a whole wildcard rule', () => {
    for (const ack of acknowledgements(synth.app)) {
      if (ack.id.startsWith('AwsSolutions-IAM5'))
        expect(ack.id).toMatch(/^AwsSolutions-IAM5\[Resource::.+\]$/);
    }
  });

  it('acknowledges only findings that the packs actually raise there', () => {
    // Synthesize again with acknowledge() recording instead of suppressing.
    const recorded: { path: string; id: string }[] = [];
    const spy = vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(function (
      this: Validations,
      ...rules: Acknowledgment[]
    ) {
      const scope = (this as unknown as { scope: IConstruct }).scope;
      for (const rule of rules) recorded.push({ path: scope.node.path, id: rule.id });
    });
    let raw: PolicyViolation[];
    try {
      raw = nagPacks().flatMap((pack) => pack.validateScope(synthesize().app).violations);
    } finally {
      spy.mockRestore();
    }
    expect(recorded.length).toBeGreaterThan(0);
    for (const ack of recorded) {
      const silenced = raw
        .filter((v) => v.ruleName === ack.id)
        .flatMap((v) => v.violatingResources)
        .some((r) => r.constructPath === ack.path || r.constructPath?.startsWith(`${ack.path}/`));
      expect(silenced, `${ack.id} at ${ack.path} silences nothing`).toBe(true);
    }
  });
});
