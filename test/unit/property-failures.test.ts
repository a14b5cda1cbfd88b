// Every input the properties ever failed on (test/fuzz/failures/*.json), replayed strictly: a bug that was
// fixed stays fixed. A failure whose owner has not fixed it yet has `"status": "open"` and runs as todo.
import { test } from 'node:test';
import { loadFailures } from '../fuzz/failures.ts';
import { findProperty } from '../fuzz/registry.ts';
import { checkOnce } from '../fuzz/harness.ts';

for (const f of loadFailures()) {
  const label = `${f.file} (${f.property})`;
  test(label, { todo: f.status === 'open' ? `open bug: ${f.error}` : false, timeout: 30_000 }, async (t) => {
    const def = await findProperty(f.property);
    if (!def) {
      t.skip(`property ${f.property} is not available (its module does not exist yet)`);
      return;
    }
    // Strict: known open issues are not tolerated here.
    await checkOnce(def, f.input as never);
  });
}
