/**
 * A loader that runs once: the first call starts `load` and every later call shares its
 * promise; a load that fails is started again by the next call, so a passing fault (a
 * module not read, Redis away) does not stick. For what a process loads on first use
 * rather than at start.
 */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));
}
