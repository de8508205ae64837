import type Router from '@koa/router';
import { AppError } from '../../shared/errors.js';
import type { Services } from '../../shared/services.js';
import type { AppContext, AppMiddleware, AppState } from '../app-state.js';
import { requireAuth } from '../middleware/koa-require-auth.js';
import { rateLimit } from '../middleware/koa-rate-limit.js';
import { isFormPost, sendPage, type Page } from '../pages/render-page.js';
import type { HandlerInput, RequestSpec, RouteDeclaration, RouteLimit } from './route-declaration.js';
import { parseInput } from './parse-input.js';

/** The body's `email` when it is a string (the route's schema judges it afterwards). */
function bodyEmail(ctx: AppContext): string | undefined {
  const email = (ctx.request.body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' ? email : undefined;
}

function limitMiddleware(services: Services, limit: RouteLimit): AppMiddleware {
  const accountOf = limit.account === 'body-email' ? bodyEmail : limit.account === 'user' ? (ctx: AppContext) => ctx.state.auth?.userId : undefined;
  return rateLimit(services.rateLimits, limit.action, accountOf);
}

/** Whether a failure is answered with the route's page: a GET of a page route, or a form post to it. */
function answersWithPage(route: RouteDeclaration, ctx: AppContext): boolean {
  return route.pageOnFailure !== undefined && (ctx.method === 'GET' || isFormPost(ctx));
}

/** A reply of any route, as the endpoint writes it. */
type AnyReply = { status: number; headers?: Record<string, string> } & ({ body: unknown } | { page: Page } | { raw: string | Buffer } | object);

/** Parses the inputs, runs the handler and writes its reply (a page for a person at a browser where the route has one). */
function endpoint(route: RouteDeclaration, services: Services): AppMiddleware {
  const request: RequestSpec = route.request ?? {};
  return async (ctx) => {
    let reply: AnyReply;
    try {
      const input = {
        params: parseInput(request.params, ctx.params, 'params'),
        query: parseInput(request.query, ctx.query, 'query'),
        body: parseInput(request.body, ctx.request.body, 'body'),
        auth: ctx.state.auth,
        ctx,
        services,
        log: ctx.state.log,
      } as HandlerInput<RequestSpec, RouteDeclaration['access']>;
      reply = (await route.handler(input)) as AnyReply;
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500 || !answersWithPage(route, ctx)) throw error;
      const answer = route.pageOnFailure!(error, { body: ctx.request.body }, services);
      if (!answer) throw error;
      sendPage(ctx, answer.status, answer.page);
      return;
    }
    for (const [name, value] of Object.entries(reply.headers ?? {})) ctx.set(name, value);
    if ('page' in reply) sendPage(ctx, reply.status, reply.page as Page);
    else if ('raw' in reply) {
      ctx.status = reply.status;
      ctx.type = route.responses[reply.status]!.raw!;
      ctx.body = reply.raw;
    } else {
      ctx.status = reply.status;
      if ('body' in reply) ctx.body = reply.body;
    }
  };
}

/**
 * Registers each declaration on the router: its access rule, then its limit, then the
 * endpoint that parses every input with the declared schemas and hands the handler
 * typed input. The order matters: a refused token costs no limit point, and a limit is
 * counted before the input is judged, so malformed guesses are limited too.
 */
export function mountRoutes(router: Router<AppState>, routes: readonly RouteDeclaration[], services: Services): void {
  for (const route of routes) {
    const chain: AppMiddleware[] = [];
    if (route.access !== 'public') chain.push(requireAuth(services, route.access.startsWith('role:') ? route.access.slice('role:'.length) : undefined));
    if (route.limit) chain.push(limitMiddleware(services, route.limit));
    chain.push(endpoint(route, services));
    router.register(route.path, [route.method.toUpperCase()], chain, { name: route.operationId });
  }
}
