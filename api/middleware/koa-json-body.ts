import type { Middleware } from 'koa';
import getRawBody from 'raw-body';
import sjson from 'secure-json-parse';
import typeis from 'type-is';
import { AppError } from '../../shared/errors.js';

export interface JsonBodyOptions {
  /** Largest accepted body in bytes. */
  limit: number;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function readError(error: unknown): AppError {
  const type = (error as { type?: string }).type;
  if (type === 'entity.too.large') return new AppError('payload_too_large');
  if (type === 'encoding.unsupported') return new AppError('unsupported_media_type');
  return new AppError('invalid_request', 'The request body could not be read.');
}

/**
 * Reads JSON bodies into ctx.request.body. A body-less request gets undefined; a body
 * that is not JSON is 415; over the limit is 413 (checked against Content-Length
 * before reading); malformed JSON, or JSON with __proto__ or constructor keys, is 400.
 */
export function jsonBody({ limit }: JsonBodyOptions): Middleware {
  return async (ctx, next) => {
    if (!BODY_METHODS.has(ctx.method) || !typeis.hasBody(ctx.req)) return next();
    if (!ctx.is('application/json', '+json')) throw new AppError('unsupported_media_type');
    if (ctx.request.length > limit) throw new AppError('payload_too_large');
    const charset = ctx.request.charset || 'utf-8';
    if (charset.toLowerCase() !== 'utf-8' && charset.toLowerCase() !== 'utf8') throw new AppError('unsupported_media_type');

    let text: string;
    try {
      text = await getRawBody(ctx.req, { limit, length: ctx.request.length, encoding: 'utf-8' });
    } catch (error) {
      throw readError(error);
    }
    try {
      ctx.request.body = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch {
      throw new AppError('invalid_json');
    }
    return next();
  };
}
