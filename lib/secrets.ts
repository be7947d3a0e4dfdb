/**
 * Generated secrets the functions read at runtime (never through the template or env
 * values): the JWT signing key and the bootstrap admin's credentials.
 */
import { Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { SluiceFunction } from './function.ts';

export interface SecretsProps {
  /** Username of the first admin, created on the first login. */
  readonly adminUsername: string;
}

export class Secrets extends Construct {
  /** HS256 key for access tokens (`SLUICE_JWT_SECRET_ARN`). */
  public readonly jwtSigningKey: Secret;
  /** `{"username": ..., "password": ...}` of the bootstrap admin (`SLUICE_ADMIN_SECRET_ARN`). */
  public readonly bootstrapAdmin: Secret;

  constructor(scope: Construct, id: string, props: SecretsProps) {
    super(scope, id);

    this.jwtSigningKey = new Secret(this, 'JwtSigningKey', {
      description: 'Sluice: HS256 key that signs API access tokens',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(this.jwtSigningKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the token signing key invalidates every access token at once and signs all users ' +
        'out; it is rotated by hand following the runbook (put a new value, then redeploy).',
    });

    this.bootstrapAdmin = new Secret(this, 'BootstrapAdmin', {
      description: 'Sluice: username and password of the first admin user',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: props.adminUsername }),
        generateStringKey: 'password',
        passwordLength: 32,
        excludePunctuation: true,
      },
    });
    Validations.of(this.bootstrapAdmin).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Read once, when the first login creates the admin user with this password (stored as an ' +
        'scrypt hash in DynamoDB); rotating the secret afterwards would not change that password.',
    });
  }

  /** secretsmanager:GetSecretValue on the signing key, nothing more. */
  grantReadJwtKey(fn: SluiceFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.jwtSigningKey.secretArn],
      }),
    );
  }

  /** secretsmanager:GetSecretValue on the bootstrap admin secret, nothing more. */
  grantReadBootstrapAdmin(fn: SluiceFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.bootstrapAdmin.secretArn],
      }),
    );
  }
}
