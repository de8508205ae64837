import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * Holds every response the shared request helper receives against the app's own
 * /openapi.json: the operation is looked up by method and path, and a status it does not
 * declare, a content type it does not declare, or a JSON body that does not match the
 * declared schema (ajv, formats included) fails the test that received it. A request
 * that matches no operation (an unknown path, a wrong method) must answer the contract's
 * error body with 404, 405 or 501.
 */

interface Operation {
  method: string;
  pattern: RegExp;
  pointer: string;
  responses: Record<string, { content?: Record<string, unknown> }>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Operation['responses'] }>>;
}

/**
 * Path prefixes served by Bull Board (the queue dashboard, api/dashboard/queue-dashboard.ts),
 * not by declarations: its pages, static files and JSON API are its own, so the document
 * does not describe them, and neither this check nor the route-set check in
 * test/openapi.test.ts holds them against it. test/queue-dashboard.test.ts asserts on them.
 */
export const UNDECLARED_PREFIXES: readonly string[] = ['/admin/queues'];

/** Whether a path is under one of UNDECLARED_PREFIXES (the prefix itself or below it). */
export function isUndeclaredPath(pathname: string): boolean {
  return UNDECLARED_PREFIXES.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`));
}

const DOCUMENT_ID = 'openapi';
const UNMATCHED_STATUSES = new Set([404, 405, 501]);

/** JSON pointer escaping (RFC 6901). */
function escape(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

export class ContractCheck {
  /** How many responses were held against the document. */
  checked = 0;
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly operations: Operation[] = [];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(document: OpenApiDocument) {
    addFormats.default(this.ajv);
    this.ajv.addSchema({ ...document, $id: DOCUMENT_ID });
    for (const [path, item] of Object.entries(document.paths)) {
      const pattern = new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}$`);
      for (const [method, operation] of Object.entries(item)) {
        this.operations.push({ method: method.toUpperCase(), pattern, pointer: `#/paths/${escape(path)}/${method}`, responses: operation.responses });
      }
    }
  }

  private validator(pointer: string): ValidateFunction {
    let validate = this.validators.get(pointer);
    if (!validate) this.validators.set(pointer, (validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}${pointer}` })));
    return validate;
  }

  private validate(pointer: string, body: unknown, what: string): void {
    const validate = this.validator(pointer);
    if (!validate(body)) throw new Error(`${what}: the body does not match the document: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
  }

  /** Throws when the response breaks the document. */
  check(method: string, url: URL, response: { status: number; contentType: string; body: unknown; text: string }): void {
    if (isUndeclaredPath(url.pathname)) return;
    this.checked += 1;
    const what = `${method} ${url.pathname} -> ${response.status}`;
    // HEAD is a GET without a body; its status is the GET's.
    const lookup = method === 'HEAD' ? 'GET' : method;
    const operation = this.operations.find((candidate) => candidate.method === lookup && candidate.pattern.test(url.pathname));
    if (!operation) {
      if (!UNMATCHED_STATUSES.has(response.status)) throw new Error(`${what}: no operation in the document serves this method and path`);
      this.validate('#/components/schemas/ErrorBody', response.body, what);
      return;
    }
    const declared = operation.responses[String(response.status)];
    if (!declared) throw new Error(`${what}: the document declares no ${response.status} for this operation (it declares ${Object.keys(operation.responses).join(', ')})`);
    if (method === 'HEAD') return;
    if (response.text === '') {
      if (declared.content) throw new Error(`${what}: empty, but the document declares a body`);
      return;
    }
    const mediaType = response.contentType.split(';')[0]!.trim();
    if (!declared.content?.[mediaType]) throw new Error(`${what}: ${mediaType} is not declared for this status (${Object.keys(declared.content ?? {}).join(', ') || 'no body'})`);
    if (mediaType === 'application/json') {
      this.validate(`${operation.pointer}/responses/${response.status}/content/${escape(mediaType)}/schema`, response.body, what);
    }
  }
}
