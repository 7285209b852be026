/**
 * Ledger administration: `accounts create`, `keys create|revoke`, `credits grant|list`, `ledger check`.
 * Every command prints JSON on standard output; a refused operation prints its code and changes nothing.
 */
import { parseArgs } from 'node:util';
import {
  type CreditService,
  creditServices,
  LedgerError,
  type Plan,
  plans,
  SqliteLedger,
} from '../ledger/index.js';
import { integerOption, UsageError } from './usage-error.js';

export const defaultLedgerPath = 'certmatch-ledger.db';

export const adminUsage = `Usage:
  certmatch accounts create --name NAME --plan free|basic|standard [--subscription-ends ISO]
  certmatch keys create --account ID [--staff NAME] [--monthly-budget N]
  certmatch keys revoke KEY_ID
  certmatch credits grant --account ID --amount N [--service S] [--expires-at ISO] [--priority P] [--description TEXT]
  certmatch credits list --account ID
  certmatch ledger check
All take --ledger DB (default ./${defaultLedgerPath}; created when missing).

accounts create prints the account and an API key (shown once; only its hash is stored). Services:
${creditServices.join(', ')} (default smartcheck; verifications draw on smartcheck, then api). Lower --priority
is drawn first. ledger check recomputes every balance from the entries and exits 1 on any difference.
`;

const options = {
  ledger: { type: 'string' },
  name: { type: 'string' },
  plan: { type: 'string' },
  'subscription-ends': { type: 'string' },
  account: { type: 'string' },
  staff: { type: 'string' },
  'monthly-budget': { type: 'string' },
  amount: { type: 'string' },
  service: { type: 'string' },
  'expires-at': { type: 'string' },
  priority: { type: 'string' },
  description: { type: 'string' },
} as const;

function isoTime(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new UsageError(`--${name} must be an ISO date such as 2027-01-31T00:00:00Z`, adminUsage);
  return ms;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`, adminUsage);
  return value;
}

/** Runs `<group> <action> ...`; returns the process exit code. */
export async function runAdmin(group: string, argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  const ledger = new SqliteLedger(values.ledger ?? defaultLedgerPath);
  const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  try {
    switch (`${group} ${action ?? ''}`) {
      case 'accounts create': {
        const plan = required(values.plan, 'plan');
        if (!(plans as readonly string[]).includes(plan))
          throw new UsageError(`--plan must be one of ${plans.join(', ')}`, adminUsage);
        const account = await ledger.createAccount({
          name: required(values.name, 'name'),
          plan: plan as Plan,
          subscriptionEndsAt: isoTime(values['subscription-ends'], 'subscription-ends') ?? null,
        });
        const { key, secret } = await ledger.createApiKey({ accountId: account.id, staff: 'owner' });
        print({ account_id: account.id, plan: account.plan, api_key: secret, key_id: key.id });
        return 0;
      }
      case 'keys create': {
        const { key, secret } = await ledger.createApiKey({
          accountId: required(values.account, 'account'),
          staff: values.staff ?? 'default',
          monthlyBudget:
            integerOption(values['monthly-budget'], 'monthly-budget', adminUsage, 0, 1_000_000_000) ?? null,
        });
        print({ ...key, api_key: secret });
        return 0;
      }
      case 'keys revoke': {
        const keyId = positionals[0];
        if (!keyId) throw new UsageError('keys revoke needs a KEY_ID', adminUsage);
        print(await ledger.revokeApiKey(keyId));
        return 0;
      }
      case 'credits grant': {
        const service = values.service ?? 'smartcheck';
        print(
          await ledger.grantCredits({
            accountId: required(values.account, 'account'),
            amount: integerOption(
              required(values.amount, 'amount'),
              'amount',
              adminUsage,
              1,
              1_000_000_000,
            ) as number,
            service: service as CreditService,
            expiresAt: isoTime(values['expires-at'], 'expires-at') ?? null,
            priority: integerOption(values.priority, 'priority', adminUsage, -1_000_000, 1_000_000) ?? 0,
            ...(values.description === undefined ? {} : { description: values.description }),
          }),
        );
        return 0;
      }
      case 'credits list':
        print({ data: ledger.listCredits(required(values.account, 'account')) });
        return 0;
      case 'ledger check': {
        const report = ledger.check();
        print(report);
        return report.differences.length === 0 ? 0 : 1;
      }
      default:
        throw new UsageError(`unknown command "${group} ${action ?? ''}"`, adminUsage);
    }
  } catch (error) {
    if (error instanceof LedgerError) {
      process.stderr.write(`certmatch ${group} ${action}: ${error.code}: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await ledger.close();
  }
}
