import pg from 'pg';

/** How often the backlog is asked for, and how long a drain may take before the bench gives up on it. */
const POLL_MS = 100;
const DRAIN_TIMEOUT_MS = 120_000;

export interface BacklogWatch {
  /** Resolves once no outbox row waits to be published and no reaction waits to be completed. */
  drained(): Promise<void>;
  close(): Promise<void>;
}

/**
 * What the workers still owe a deployment's database: outbox rows not yet published (nor
 * set aside) and reactions not yet completed, both by their partial indexes. A reaction
 * is completed in its worker's transaction, so once none is left the workers' work for
 * the load is done but for BullMQ's completion write of the last jobs.
 */
export async function watchBacklog(databaseUrl: string): Promise<BacklogWatch> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const pending = async () => {
    const { rows } = await client.query<{ pending: number }>(
      `SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL AND failed_at IS NULL)
            + (SELECT count(*) FROM reactions WHERE completed_at IS NULL) AS pending`,
    );
    return Number(rows[0]!.pending);
  };
  return {
    async drained() {
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      for (let left = await pending(); left > 0; left = await pending()) {
        if (Date.now() > deadline) throw new Error(`the workers left ${left} outbox rows and reactions undone for ${DRAIN_TIMEOUT_MS / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
    close: () => client.end(),
  };
}
