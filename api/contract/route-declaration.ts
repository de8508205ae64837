import type { z } from 'zod';
import type { RateLimitAction } from '../../shared/config/rate-limit-settings.js';
import type { AppError, ErrorCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Services } from '../../shared/services.js';
import type { AppContext, AuthState } from '../app-state.js';
import type { Page } from '../pages/render-page.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call a route: anyone, the holder of a live access token, or one whose session has the role. */
export type Access = 'public' | 'bearer' | `role:${string}`;

export interface ResponseHeader {
  description: string;
  schema: z.ZodType;
}

/** One status a route answers with, as the reference shows it. */
export interface ResponseSpec {
  description: string;
  /** The application/json body. */
  json?: z.ZodType;
  /** The answer is an HTML page (text/html), for a person at a browser. */
  html?: true;
  /** The answer is a body of this media type, written as the handler gives it (`raw`): the docs page and its script. */
  raw?: string;
  headers?: Record<string, ResponseHeader>;
  /** A JSON body shown in the reference. */
  example?: unknown;
}

export type ResponseSpecs = { readonly [status: number]: ResponseSpec };

/** What a route reads, each part parsed before its handler runs. */
export interface RequestSpec {
  /** The JSON body; a strict object, so an unknown key is named in the 400. */
  body?: z.ZodType;
  /** The query string; a value given twice arrives as an array, which a string schema refuses. */
  query?: z.ZodObject;
  /** Path parameters; one that does not parse is `404 not_found`: no such resource can exist. */
  params?: z.ZodObject;
  /** The HTML pages' forms post the same fields as application/x-www-form-urlencoded. */
  form?: true;
  /** A request body shown in the reference. */
  example?: unknown;
}

/** A failure a route answers beyond those its inputs, access rule and limit imply; `status` where the contract gives the code another one. */
export type DeclaredError = ErrorCode | { code: ErrorCode; status: number };

/** The limit counted before the route's work; `account` names whose budget the request spends. */
export interface RouteLimit {
  action: RateLimitAction;
  /** `body-email`: the address in the body, `user`: the signed-in user. */
  account?: 'body-email' | 'user';
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface HandlerInput<Req extends RequestSpec, A extends Access> {
  body: Parsed<Req['body']>;
  query: Parsed<Req['query']>;
  params: Parsed<Req['params']>;
  /** The signed-in user, on every route that requires a token. */
  auth: A extends 'public' ? undefined : AuthState;
  ctx: AppContext;
  services: Services;
  /** The request's logger. */
  log: Logger;
}

type Headers = Record<string, string>;

type ReplyFor<S extends number, R> =
  | (R extends { json: infer J extends z.ZodType } ? { status: S; body: z.input<J>; headers?: Headers } : never)
  | (R extends { html: true } ? { status: S; page: Page; headers?: Headers } : never)
  | (R extends { raw: string } ? { status: S; raw: string | Buffer; headers?: Headers } : never)
  | (R extends { json: z.ZodType } ? never : R extends { html: true } ? never : R extends { raw: string } ? never : { status: S; headers?: Headers });

/** What a handler answers: one of its declared statuses with that status's body. */
export type Reply<R extends ResponseSpecs> = { [S in keyof R & number]: ReplyFor<S, R[S]> }[keyof R & number];

export interface PageReply {
  status: number;
  page: Page;
}

/** Everything about a route but its handler: what the reference shows and the router enforces. */
export interface RouteSpec<Req extends RequestSpec = RequestSpec, A extends Access = Access, R extends ResponseSpecs = ResponseSpecs> {
  method: HttpMethod;
  /** A Koa path: `/me/sessions/:id`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  access: A;
  request?: Req;
  responses: R;
  errors?: readonly DeclaredError[];
  limit?: RouteLimit;
  /**
   * The page a person at a browser gets when the input or the handler fails with an
   * expected error: for GET page routes and for form posts (a rate limit or an unreadable
   * body before the route runs gets the error handler's generic page instead, and so does
   * an error for which this returns undefined).
   */
  pageOnFailure?(error: AppError, raw: { body: unknown }, services: Services): PageReply | undefined;
}

export interface RouteDeclaration<Req extends RequestSpec = RequestSpec, A extends Access = Access, R extends ResponseSpecs = ResponseSpecs>
  extends RouteSpec<Req, A, R> {
  handler(input: HandlerInput<Req, A>): Reply<R> | Promise<Reply<R>>;
}

/**
 * Declares a route in two steps, so the handler is typed by the finished declaration:
 * `defineRoute({ ...spec }).handle(async ({ body, auth }) => ({ status: 200, body: ... }))`.
 * Its input's types follow from the request schemas, its answers from the responses.
 */
export function defineRoute<const Req extends RequestSpec = Record<never, never>, const A extends Access = Access, const R extends ResponseSpecs = ResponseSpecs>(spec: RouteSpec<Req, A, R>) {
  return {
    handle(handler: (input: HandlerInput<Req, A>) => Reply<R> | Promise<Reply<R>>): RouteDeclaration {
      return { ...spec, handler } as RouteDeclaration;
    },
  };
}
