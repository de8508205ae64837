import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import type { ErrorCode } from '../../shared/errors.js';
import type { RouteDeclaration } from './route-declaration.js';
import { RETRY_AFTER_STATUSES, routeErrorsByStatus } from './route-errors.js';

/** The contract's failure body, shared by every error response. */
export const errorBodySchema = z
  .object({
    message: z.literal('fail'),
    error: z.object({
      code: z.string().meta({ description: 'A stable snake_case code; the statuses of each operation list the ones it can answer.' }),
      message: z.string().meta({ description: 'Text for humans; may change between versions.' }),
      fields: z.record(z.string(), z.string()).optional().meta({ description: 'Per-field reasons of a validation failure.' }),
    }),
  })
  .meta({ id: 'ErrorBody', description: 'Every failure. Nothing per request is in it (the request id is the `x-request-id` header), so equal failures are byte-equal.' });

const retryAfter = z.string().regex(/^\d+$/).meta({ description: 'Seconds to wait before trying again.', example: '900' });

const HTML = { 'text/html': { schema: { type: 'string' as const } } };

/** `/me/sessions/:id` -> `/me/sessions/{id}`. */
export function openApiPath(koaPath: string): string {
  return koaPath.replace(/:(\w+)/g, '{$1}');
}

/** ErrorBody narrowed to the codes one status of one route can answer. */
function errorBodyFor(codes: ErrorCode[]) {
  return z.intersection(errorBodySchema, z.looseObject({ error: z.looseObject({ code: z.enum(codes as [ErrorCode, ...ErrorCode[]]) }) }));
}

function responsesOf(route: RouteDeclaration): ZodOpenApiResponsesObject {
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    const content = {
      ...(spec.json ? { 'application/json': { schema: spec.json, ...(spec.example === undefined ? {} : { example: spec.example }) } } : {}),
      ...(spec.html ? HTML : {}),
      ...(spec.raw ? { [spec.raw]: { schema: { type: 'string' as const } } } : {}),
    };
    const headers = spec.headers ? z.object(Object.fromEntries(Object.entries(spec.headers).map(([name, header]) => [name, header.schema.meta({ description: header.description })]))) : undefined;
    responses[status as `${1 | 2 | 3 | 4 | 5}${string}`] = {
      description: spec.description,
      ...(Object.keys(content).length > 0 ? { content } : {}),
      ...(headers ? { headers } : {}),
    };
  }
  // A form post may get any failure as a page (the error handler's generic one).
  const failurePages = route.request?.form || route.pageOnFailure ? HTML : {};
  for (const [status, codes] of routeErrorsByStatus(route)) {
    const key = String(status) as `${1 | 2 | 3 | 4 | 5}${string}`;
    const declared = responses[key] as { description: string; content?: Record<string, unknown> } | undefined;
    const body = { 'application/json': { schema: errorBodyFor(codes) } };
    responses[key] = {
      description: declared ? `${declared.description} Or: ${codes.join(', ')}.` : codes.join(', '),
      content: { ...body, ...failurePages, ...declared?.content },
      ...(RETRY_AFTER_STATUSES.has(status) ? { headers: z.object({ 'Retry-After': retryAfter }) } : {}),
    };
  }
  return responses;
}

function operationOf(route: RouteDeclaration): ZodOpenApiOperationObject {
  const { request } = route;
  const requestParams = {
    ...(request?.params ? { path: request.params } : {}),
    ...(request?.query ? { query: request.query } : {}),
  };
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    security: route.access === 'public' ? [] : [{ bearerAuth: [] }],
    ...(route.access.startsWith('role:') ? { 'x-required-role': route.access.slice('role:'.length) } : {}),
    ...(Object.keys(requestParams).length > 0 ? { requestParams } : {}),
    ...(request?.body
      ? {
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: request.body, ...(request.example === undefined ? {} : { example: request.example }) },
              ...(request.form ? { 'application/x-www-form-urlencoded': { schema: request.body } } : {}),
            },
          },
        }
      : {}),
    responses: responsesOf(route),
  };
}

export interface OpenApiInfo {
  version: string;
  publicUrl: string;
}

/**
 * The OpenAPI 3.1 document of the given routes: one operation per declaration. The
 * generator is loaded only here, so a process that is never asked for the document
 * does not pay for it at start.
 */
export async function buildOpenApiDocument(routes: readonly RouteDeclaration[], info: OpenApiInfo): Promise<object> {
  const { createDocument } = await import('zod-openapi');
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method]: operationOf(route) };
  }
  return createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'user-services',
        version: info.version,
        description:
          'Identity and account service: registration, sign-in with ES256 access tokens and rotating refresh tokens, sessions, email verification and password reset. Every failure answers the `ErrorBody` shape. Events are described at `/asyncapi.json`.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: [{ url: info.publicUrl }],
      tags: [...new Set(routes.map((route) => route.tag))].map((name) => ({ name })),
      paths,
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /login or POST /token/refresh.' } },
        schemas: { ErrorBody: errorBodySchema },
      },
    },
    {
      // Handlers hand over Dates; JSON carries them as ISO 8601 strings.
      override: ({ jsonSchema, zodSchema }) => {
        if (zodSchema._zod.def.type === 'date') {
          jsonSchema.type = 'string';
          jsonSchema.format = 'date-time';
        }
      },
    },
  );
}
