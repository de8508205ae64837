import type Router from '@koa/router';
import { Validator } from '@seriousme/openapi-schema-validator';
import { expect } from 'chai';
import { createApp } from '../api/app.js';
import { testApp } from './support/hooks.js';
import { isUndeclaredPath, UNDECLARED_PREFIXES } from './support/contract-check.js';
import { contractCheck, request } from './support/http.js';

type Operation = {
  operationId: string;
  summary: string;
  security: unknown[];
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { example?: unknown }> }>;
  requestBody?: { content: Record<string, { example?: unknown }> };
};
type Document = { openapi: string; paths: Record<string, Record<string, Operation>>; components: Record<string, Record<string, unknown>> };

async function document(): Promise<Document> {
  const response = await request<Document>('GET', '/openapi.json');
  expect(response.status).to.equal(200);
  return response.body;
}

function operations(doc: Document): Array<[string, string, Operation]> {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => [method.toUpperCase(), path, op] as [string, string, Operation]));
}

/**
 * The (method, path) pairs the app's router really serves, read from its middleware, in
 * OpenAPI's path form; Bull Board's own routes (UNDECLARED_PREFIXES) are left out by name.
 */
function servedRoutes(): Set<string> {
  const app = createApp(testApp().services, async () => testApp().queueSet.queues);
  const routers = app.middleware.map((middleware) => (middleware as { router?: Router }).router).filter((router): router is Router => router !== undefined);
  const served = new Set<string>();
  for (const router of new Set(routers)) {
    for (const layer of router.stack) {
      for (const method of layer.methods) {
        if (method !== 'HEAD' && !isUndeclaredPath(String(layer.path))) served.add(`${method} ${String(layer.path).replace(/:(\w+)/g, '{$1}')}`);
      }
    }
  }
  return served;
}

describe('OpenAPI document (GET /openapi.json)', () => {
  it('is valid OpenAPI 3.1 by an independent validator', async () => {
    const doc = await document();
    expect(doc.openapi).to.equal('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 1)).to.deep.equal([]);
    expect(result.valid).to.equal(true);
    expect(validator.version).to.equal('3.1');
  });

  it('describes exactly the (method, path) pairs the router serves', async () => {
    const documented = new Set(operations(await document()).map(([method, path]) => `${method} ${path}`));
    const served = servedRoutes();
    expect(served.size).to.be.greaterThan(20);
    expect([...documented].sort()).to.deep.equal([...served].sort());
    // Bull Board's routes are not declarations, so the document names none of them.
    expect([...documented].filter((route) => isUndeclaredPath(route.split(' ')[1]!)), `under ${UNDECLARED_PREFIXES.join(', ')}`).to.deep.equal([]);
  });

  it('gives every operation a unique id and a summary, and the Bearer ones their security and 401', async () => {
    const doc = await document();
    const ids = operations(doc).map(([, , op]) => op.operationId);
    expect(new Set(ids).size).to.equal(ids.length);
    expect(doc.components.securitySchemes).to.deep.include({ bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /login or POST /token/refresh.' } });
    expect(doc.components.schemas).to.have.property('ErrorBody');
    for (const [method, path, op] of operations(doc)) {
      expect(op.summary, `${method} ${path}`).to.be.a('string').and.not.empty;
      if (op.security.length > 0) {
        expect(op.security, `${method} ${path}`).to.deep.equal([{ bearerAuth: [] }]);
        expect(op.responses, `${method} ${path}`).to.have.property('401');
      }
    }
    expect(doc.paths['/me']!.get!.security).to.have.length(1);
    expect(doc.paths['/login']!.post!.security).to.deep.equal([]);
  });

  it('puts Retry-After on every 429 and 503, the error body on every failure, and HTML on the pages', async () => {
    const doc = await document();
    let retryStatuses = 0;
    for (const [method, path, op] of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        const isErrorBody = JSON.stringify(response.content?.['application/json'] ?? {}).includes('#/components/schemas/ErrorBody');
        // GET /ready's 503 is its own readiness body, not a failure to retry.
        if (path === '/ready') continue;
        expect(isErrorBody || Number(status) < 400, `${method} ${path} ${status}: the error body`).to.equal(true);
        if (status === '429' || status === '503') {
          retryStatuses += 1;
          expect(response.headers, `${method} ${path} ${status}`).to.have.property('Retry-After');
        }
      }
    }
    expect(retryStatuses).to.be.greaterThan(5);
    for (const path of ['/email/verify', '/password/reset', '/security/not-me']) {
      expect(doc.paths[path]!.get!.responses['200']!.content, path).to.have.property('text/html');
      expect(doc.paths[path]!.post!.requestBody!.content, path).to.have.property('application/x-www-form-urlencoded');
    }
  });

  it('shows examples for the main operations', async () => {
    const doc = await document();
    expect(doc.paths['/register']!.post!.requestBody!.content['application/json']!.example).to.have.property('email');
    expect(doc.paths['/login']!.post!.responses['200']!.content!['application/json']!.example).to.have.property('refresh_token');
    expect(doc.paths['/token/refresh']!.post!.responses['200']!.content!['application/json']!.example).to.have.property('token_type', 'Bearer');
    expect(doc.paths['/me']!.get!.responses['200']!.content!['application/json']!.example).to.have.property('mfa');
  });

  it('lists the error codes each status of an operation can answer', async () => {
    const doc = await document();
    const codes = (path: string, method: string, status: string) =>
      JSON.stringify(doc.paths[path]![method]!.responses[status]!.content!['application/json']).match(/"enum":\[[^\]]*\]/)?.[0];
    expect(codes('/login', 'post', '401')).to.equal('"enum":["invalid_credentials"]');
    expect(codes('/login', 'post', '403')).to.equal('"enum":["account_locked","account_disabled","password_reset_required"]');
    expect(codes('/email/verify', 'post', '400')).to.contain('"invalid_token"').and.contain('"invalid_request"');
    expect(codes('/me/sessions/{id}', 'delete', '404')).to.equal('"enum":["not_found"]');
  });

  it('is what the suite holds every response against: an undeclared status, type or body fails', async () => {
    const check = await contractCheck();
    const me = new URL('/me', 'http://app');
    const json = (status: number, body: unknown) => ({ status, contentType: 'application/json; charset=utf-8', body, text: JSON.stringify(body) });
    expect(() => check.check('GET', me, json(418, { message: 'fail', error: { code: 'teapot', message: 'no' } }))).to.throw(/declares no 418/);
    expect(() => check.check('GET', me, json(401, { message: 'fail', error: { code: 'invalid_token', message: 'x' } }))).to.throw(/does not match/);
    expect(() => check.check('GET', me, json(200, { id: 'not-a-uuid' }))).to.throw(/does not match/);
    expect(() => check.check('GET', me, { status: 200, contentType: 'text/html', body: undefined, text: '<p>' })).to.throw(/text\/html is not declared/);
    expect(() => check.check('GET', new URL('/nowhere', 'http://app'), json(200, {}))).to.throw(/no operation/);
    expect(() => check.check('GET', me, json(401, { message: 'fail', error: { code: 'unauthorized', message: 'Authentication is required.' } }))).not.to.throw();
  });
});
