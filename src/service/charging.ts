/**
 * The service's side of charging: turning an answer into a ledger verification, and telling the caller what
 * it cost. Which verifications cost a credit is the ledger's decision (the seed's rules live there).
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyInfo, Idempotency, MatchOutcome, VerificationCharge } from '../ledger/index.js';
import type { ServiceContext } from './context.js';
import { isLedgerError, type Problem, problemOfLedgerError, validationProblem } from './problems.js';

const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;

/**
 * The request's `Idempotency-Key`, as the ledger takes it: the fingerprint is a digest of the route and the
 * part of the body the write answers (`part`, default the whole body), so reusing the key for another request
 * is a conflict. Bulk requests give each item its own key: `key#index`.
 */
export function idempotencyOf(
  request: FastifyRequest,
  part?: { index: number; body: unknown },
): Idempotency | undefined {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !idempotencyKeyPattern.test(header)) {
    throw validationProblem([
      { field: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' },
    ]);
  }
  const fingerprint = createHash('sha256')
    .update(`${request.method} ${request.routeOptions.url}\n`)
    .update(JSON.stringify(part === undefined ? (request.body ?? null) : part.body) ?? '')
    .digest('base64url');
  return { key: part === undefined ? header : `${header}#${part.index}`, fingerprint };
}

/** Records one verification; a ledger refusal becomes its problem (403 insufficient_credit, ...). */
export async function recordVerification(
  context: ServiceContext,
  staff: ApiKeyInfo,
  endpoint: string,
  answer: { ceId: string | null; matchType: MatchOutcome },
  idempotency?: Idempotency,
): Promise<VerificationCharge> {
  try {
    const charge = await context.deps.ledger.recordVerification(
      {
        accountId: staff.accountId,
        keyId: staff.id,
        endpoint,
        ceId: answer.ceId,
        matchType: answer.matchType,
      },
      idempotency,
    );
    if (!charge.replayed) context.metrics.creditsCharged.inc(charge.creditsCharged);
    return charge;
  } catch (error) {
    if (isLedgerError(error)) throw problemOfLedgerError(error);
    throw error;
  }
}

/**
 * Tells the caller what the answer cost and what is left: `X-Credits-Charged` (this request, all items),
 * `X-Credits-Remaining` (usable credits after it), `X-Credits-Overage` (paid plans past their credits) and
 * `Idempotent-Replayed` when every charge was a replay of an earlier request with the same key.
 */
export function setCreditHeaders(
  context: ServiceContext,
  reply: FastifyReply,
  staff: ApiKeyInfo,
  charges: readonly VerificationCharge[],
): void {
  let charged = 0;
  let overage = 0;
  let latest: VerificationCharge | undefined;
  for (const charge of charges) {
    charged += charge.creditsCharged;
    overage += charge.overage;
    if (!latest || charge.verificationId > latest.verificationId) latest = charge;
  }
  const remaining = latest?.remaining ?? context.deps.ledger.balance(staff.accountId);
  reply.header('x-credits-charged', String(charged));
  reply.header('x-credits-remaining', String(remaining));
  if (overage > 0) reply.header('x-credits-overage', String(overage));
  if (charges.length > 0 && charges.every((charge) => charge.replayed))
    reply.header('idempotent-replayed', 'true');
}

/** The body of one failed item of a bulk answer. */
export function itemError(problem: Problem): Record<string, unknown> {
  return {
    status: problem.status,
    code: problem.code,
    detail: problem.detail,
    ...(problem.errors ? { errors: problem.errors } : {}),
  };
}
