import amqp from 'amqplib';
import type { Redis } from 'ioredis';
import type { Config } from '../config/config.js';
import type { Pool } from '../db/pool.js';
import { withTimeout } from '../with-timeout.js';

export type CheckState = 'ok' | 'degraded' | 'failed';

export interface Readiness {
  ready: boolean;
  checks: { postgres: CheckState; redis: CheckState; rabbitmq: CheckState };
}

const TIMEOUT_MS = 1_000;
/** A broker check opens a connection, so its answer is reused for this long. */
const BROKER_CACHE_MS = 5_000;

async function passes(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await withTimeout(check(), TIMEOUT_MS);
    return true;
  } catch {
    return false;
  }
}

/**
 * Readiness as the contract defines it: only PostgreSQL is required; Redis and
 * RabbitMQ being away degrades the service (queues, limits) but does not stop the API.
 */
export function createReadinessCheck({ pool, redis, config }: { pool: Pool; redis: Redis; config: Pick<Config, 'rabbitmqUrl'> }): () => Promise<Readiness> {
  let broker: { state: CheckState; at: number } = { state: 'degraded', at: 0 };
  // One broker check at a time: concurrent probes share it rather than each opening a connection.
  let checking: Promise<CheckState> | undefined;

  async function checkBroker(): Promise<CheckState> {
    const connecting = amqp.connect(config.rabbitmqUrl, { timeout: TIMEOUT_MS });
    const ok = await passes(async () => (await connecting).close());
    // A connection that opens after the timeout is closed when it does, never left open.
    if (!ok) void connecting.then((late) => late.close()).catch(() => undefined);
    broker = { state: ok ? 'ok' : 'degraded', at: Date.now() };
    return broker.state;
  }

  function brokerState(): Promise<CheckState> {
    if (Date.now() - broker.at < BROKER_CACHE_MS) return Promise.resolve(broker.state);
    checking ??= checkBroker().finally(() => (checking = undefined));
    return checking;
  }

  return async function readiness(): Promise<Readiness> {
    const [postgres, redisOk, rabbitmq] = await Promise.all([
      passes(() => pool.query('SELECT 1')),
      passes(() => redis.ping()),
      brokerState(),
    ]);
    return {
      ready: postgres,
      checks: { postgres: postgres ? 'ok' : 'failed', redis: redisOk ? 'ok' : 'degraded', rabbitmq },
    };
  };
}
