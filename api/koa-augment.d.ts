import 'koa';

declare module 'koa' {
  interface Request {
    /** The parsed body, set by jsonBody(); undefined when the request had none. */
    body?: unknown;
  }
}
