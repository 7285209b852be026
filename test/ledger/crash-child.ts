/**
 * Test fixture: charges verifications forever against the ledger given as argv[2], printing each
 * acknowledged (committed) verification as "ack <verificationId> <ceId>". The crash test kills it with SIGKILL.
 * argv[3] and argv[4] are the account and key ids created by the parent.
 */
import { SqliteLedger } from '../../src/ledger/index.js';

const [path, accountId, keyId] = process.argv.slice(2) as [string, string, string];
const ledger = new SqliteLedger(path);
let n = 0;
for (;;) {
  // A few callers at once, some re-verifying the same company, so batches mix charges and grace-period answers.
  const batch = Array.from({ length: 8 }, () => {
    const ceId = `ce_${String(n++ % 5000).padStart(24, '0')}`;
    return ledger
      .recordVerification({ accountId, keyId, endpoint: '/company', ceId, matchType: 'exactly_matched' })
      .then((charge) =>
        process.stdout.write(`ack ${charge.verificationId} ${ceId} ${charge.creditsCharged}\n`),
      );
  });
  await Promise.all(batch);
}
