import { expect } from 'chai';
import { Redis } from 'ioredis';
import { registerTestPrefix, remainingTestKeys, removeTestKeys, SHARED_REDIS_URL, testPrefix } from './support/redis-keys.js';

describe('test key clean-up in the shared Redis (test/support/redis-keys.ts)', () => {
  let redis: Redis;
  const mine = testPrefix('keys-test');
  // Names a careless pattern would also match: a longer prefix, the bare prefix, a glob look-alike.
  const longer = testPrefix(`${mine}0`);
  const globbed = testPrefix('keys-test-*');
  const lookAlike = registerTestPrefix(globbed.replace('*', 'x'));

  before(() => {
    redis = new Redis(SHARED_REDIS_URL);
  });

  after(async () => {
    await redis.unlink(`${mine}:bare`);
    await removeTestKeys(mine, longer, globbed, lookAlike);
    redis.disconnect();
  });

  it('removes every key of a prefix (more than one SCAN page), and nothing of any other', async () => {
    const pipeline = redis.pipeline();
    for (let i = 0; i < 2_500; i++) pipeline.set(`{${mine}}:email:${i}`, 'job');
    pipeline.set(`{${mine}}:rl:login:ip:192.0.2.1`, '1');
    pipeline.set(`{${longer}}:email:1`, 'job');
    pipeline.set(`${mine}:bare`, 'not in the hash tag');
    pipeline.set(`{${lookAlike}}:email:1`, 'job');
    await pipeline.exec();

    expect(await remainingTestKeys([mine, longer])).to.deep.equal(new Map([[mine, 2_501], [longer, 1]]));
    expect(await removeTestKeys(mine)).to.equal(2_501);
    expect(await redis.exists(`{${mine}}:email:0`, `{${mine}}:rl:login:ip:192.0.2.1`)).to.equal(0);
    expect(await redis.exists(`{${longer}}:email:1`, `${mine}:bare`, `{${lookAlike}}:email:1`)).to.equal(3);
    expect(await remainingTestKeys([mine])).to.deep.equal(new Map());
  });

  it('takes glob characters in a prefix literally', async () => {
    await redis.set(`{${lookAlike}}:email:2`, 'job');
    expect(await removeTestKeys(globbed)).to.equal(0);
    expect(await redis.exists(`{${lookAlike}}:email:2`)).to.equal(1);
    await redis.set(`{${globbed}}:email:1`, 'job');
    expect(await removeTestKeys(globbed)).to.equal(1);
  });
});
