import fs from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';

/** Reads `.env` from the working directory when present; real env vars win. */
export function loadDotenv(cwd = process.cwd()): string | undefined {
  const file = path.join(cwd, '.env');
  if (!fs.existsSync(file)) return undefined;
  dotenv.config({ path: file, quiet: true });
  return file;
}
