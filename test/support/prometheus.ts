import { spawn } from 'node:child_process';

export interface PromtoolRun {
  code: number | null;
  /** stdout and stderr together, as promtool splits its findings between them. */
  output: string;
}

/**
 * Runs Debian's promtool (the prometheus package; scripts/ensure-test-tools.sh installs
 * it), feeding `stdin` when given.
 */
export function promtool(args: string[], stdin?: string): Promise<PromtoolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', (error) => reject(new Error(`promtool failed or is missing (scripts/ensure-test-tools.sh installs it): ${error.message}`)));
    child.once('close', (code) => resolve({ code, output }));
    child.stdin.end(stdin ?? '');
  });
}

/** prom-client's own default gauges named `_total`, which promtool always flags: the only complaints allowed. */
const KNOWN_COMPLAINT = /nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;

/** What `promtool check metrics` says about an exposition, less the three known complaints. */
export async function metricsLintProblems(exposition: string): Promise<string[]> {
  const { output } = await promtool(['check', 'metrics'], exposition);
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !KNOWN_COMPLAINT.test(line));
}

/** One sample of an exposition in the text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a text-format exposition (label values without escapes, as this service writes them). */
export function parseSamples(exposition: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The metric names an exposition declares (its `# TYPE` lines), with their types. */
export function declaredMetrics(exposition: string): Map<string, string> {
  const declared = new Map<string, string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) declared.set(name!, type!);
  return declared;
}
