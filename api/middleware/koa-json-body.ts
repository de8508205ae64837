import type { Middleware } from 'koa';
import getRawBody from 'raw-body';
import sjson from 'secure-json-parse';
import typeis from 'type-is';
import { AppError } from '../../shared/errors.js';

export interface JsonBodyOptions {
  /** Largest accepted body in bytes. */
  limit: number;
  /**
   * Paths whose HTML pages post forms: they also accept
   * application/x-www-form-urlencoded. Every other path takes JSON only.
   */
  formPaths?: readonly string[];
}

const FORM_TYPE = 'application/x-www-form-urlencoded';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function readError(error: unknown): AppError {
  const type = (error as { type?: string }).type;
  if (type === 'entity.too.large') return new AppError('payload_too_large');
  if (type === 'encoding.unsupported') return new AppError('unsupported_media_type');
  return new AppError('invalid_request', { message: 'The request body could not be read.' });
}

/**
 * A form body as an object of strings; a name given more than once becomes an array,
 * which the route's schema then refuses like any other non-string field.
 */
function parseForm(text: string): Record<string, string | string[]> {
  const fields = new Map<string, string | string[]>();
  for (const [name, value] of new URLSearchParams(text)) {
    const seen = fields.get(name);
    fields.set(name, seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value]);
  }
  // fromEntries defines own properties, so a field named __proto__ stays a plain key.
  return Object.fromEntries(fields);
}

/**
 * Reads JSON bodies into ctx.request.body (and form bodies on formPaths). A body-less
 * request gets undefined; any other type is 415; over the limit is 413 (checked
 * against Content-Length before reading); malformed JSON, or JSON with __proto__ or
 * constructor keys, is 400.
 */
export function jsonBody({ limit, formPaths = [] }: JsonBodyOptions): Middleware {
  return async (ctx, next) => {
    // An empty body (Content-Length: 0, as clients send for a bare POST) is no body at all.
    if (!BODY_METHODS.has(ctx.method) || !typeis.hasBody(ctx.req) || ctx.request.length === 0) return next();
    const isForm = formPaths.includes(ctx.path) && ctx.is(FORM_TYPE) === FORM_TYPE;
    if (!isForm && !ctx.is('application/json', '+json')) throw new AppError('unsupported_media_type');
    if (ctx.request.length > limit) throw new AppError('payload_too_large');
    const charset = ctx.request.charset || 'utf-8';
    if (charset.toLowerCase() !== 'utf-8' && charset.toLowerCase() !== 'utf8') throw new AppError('unsupported_media_type');

    let text: string;
    try {
      text = await getRawBody(ctx.req, { limit, length: ctx.request.length, encoding: 'utf-8' });
    } catch (error) {
      throw readError(error);
    }
    if (isForm) {
      ctx.request.body = parseForm(text);
      return next();
    }
    try {
      ctx.request.body = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch {
      throw new AppError('invalid_json');
    }
    return next();
  };
}
