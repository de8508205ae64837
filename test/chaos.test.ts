import path from 'node:path';
import { expect } from 'chai';
import { SHORT_PROFILE } from '../chaos/faults.js';
import { runChaos } from '../chaos/harness.js';
import { missingPrerequisite } from '../chaos/private-services.js';
import { projectRoot } from '../shared/project-root.js';

/**
 * The chaos harness's short run (docs/chaos.md): one fault of each kind under traffic,
 * on private PostgreSQL, Redis and RabbitMQ instances, never the shared ones. `make
 * chaos` runs the long one.
 */
describe('chaos: faults under traffic (short run, about 4 minutes)', function () {
  this.timeout(15 * 60_000);

  it('keeps every promise: nothing lost, no 500 or hung request, ready within 30 s of each fault', async function () {
    const missing = missingPrerequisite();
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    const result = await runChaos({
      durationS: 150,
      faults: SHORT_PROFILE,
      requestsPerMinute: 240,
      settleS: 120,
      resultsDir: path.join(projectRoot(), 'chaos-results', 'test'),
      log: () => undefined,
    });
    console.log(result.report.replace(/^/gm, '      '));
    expect(result.checks.total.checked).to.be.greaterThan(500);
    expect(result.checks.total.lost).to.equal(0);
    expect(result.failures).to.deep.equal([]);
  });
});
