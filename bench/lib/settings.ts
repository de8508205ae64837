/** The load shapes, shared by every side so each ratio compares like with like. */
export const SETTINGS = {
  /** Closed-loop connections for the throughput figures (fills 2 hashing slots 8 times over). */
  connections: 16,
  /**
   * The ratios alternate baseline and API in short rounds, seconds apart, and take the
   * median of the rounds' ratios: the machine is shared and drifts by 10-20 % in a minute.
   */
  rounds: 3,
  loginRoundSeconds: 6,
  healthRoundSeconds: 4,
  /** Login p99 is taken at this fraction of the process's own measured peak. */
  latencyLoad: 0.8,
  latencySeconds: 12,
  /** GET /health at this fixed rate while 16 connections of logins saturate the CPU. */
  healthUnderLoadRate: 100,
  healthUnderLoadSeconds: 10,
  floodConnections: 200,
  floodSeconds: 10,
  users: 8,
};
