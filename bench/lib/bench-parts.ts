/**
 * The parts `npm run bench` can measure, in the order it runs them: `api` (figures 1-5 and
 * GET /me, the web role and the all-in-one process), `refresh` (bench/refresh.ts), `relay`
 * (bench/relay.ts), `mail` (bench/mail.ts), `startup` (bench/startup.ts) and, only when
 * named, `scale` (bench/scale.ts).
 */
export const BENCH_PARTS = ['api', 'refresh', 'relay', 'mail', 'startup', 'scale'] as const;
/** What `npm run bench` measures when no part is named: `scale` fills a database of several GiB and runs only when asked for. */
export const DEFAULT_BENCH_PARTS: readonly BenchPart[] = BENCH_PARTS.filter((part) => part !== 'scale');
export type BenchPart = (typeof BENCH_PARTS)[number];

/**
 * The parts named as arguments (`npm run bench -- relay mail`) or, failing that, in
 * BENCH_ONLY (`BENCH_ONLY=relay,mail`); every part but `scale` when neither names one. An unknown
 * name throws, naming the known ones, before anything is measured.
 */
export function selectBenchParts(args: string[], only: string | undefined): Set<BenchPart> {
  const named = (args.length > 0 ? args : (only ?? '').split(','))
    .flatMap((arg) => arg.split(','))
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  const unknown = named.filter((name) => !(BENCH_PARTS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown benchmark part(s) ${unknown.join(', ')}; choose from ${BENCH_PARTS.join(', ')}`);
  return new Set(named.length > 0 ? (named as BenchPart[]) : DEFAULT_BENCH_PARTS);
}
