import crypto from 'node:crypto';
import { ContractCheck } from './contract-check.js';
import { testApp } from './hooks.js';

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

export interface RequestOptions {
  /** Sent as application/json. */
  json?: unknown;
  /** Sent as application/x-www-form-urlencoded, as the HTML pages' forms do. */
  form?: Record<string, string>;
  /** Sent as given. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  /** Another app than the shared test app. */
  baseUrl?: string;
  /** `manual`: a redirect is the response, not followed. */
  redirect?: 'follow' | 'manual';
}

let contract: Promise<ContractCheck> | undefined;

/** The check of responses against the app's own /openapi.json, loaded at the first request. */
export function contractCheck(): Promise<ContractCheck> {
  contract ??= fetch(`${testApp().url}/openapi.json`).then(async (response) => new ContractCheck((await response.json()) as ConstructorParameters<typeof ContractCheck>[0]));
  return contract;
}

/**
 * A request to the test API (or `baseUrl`); the body is parsed as JSON when it is JSON.
 * Every response is held against the OpenAPI document (contract-check.ts): one the
 * document does not describe fails the test.
 */
export async function request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Buffer | undefined = options.raw;
  if (options.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  }
  const response = await fetch((options.baseUrl ?? testApp().url) + path, { method, headers, body, redirect: options.redirect ?? 'follow' });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  (await contractCheck()).check(method, new URL(path, 'http://app'), {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: parsed,
    text,
  });
  return { status: response.status, headers: response.headers, text, body: parsed as T };
}

export function randomEmail(): string {
  return `user-${crypto.randomBytes(6).toString('hex')}@example.com`;
}

/** A password the policy accepts. */
export function strongPassword(): string {
  return `Strong-${crypto.randomBytes(9).toString('base64url')}`;
}

export async function registerUser(email = randomEmail(), password = strongPassword()) {
  const response = await request('POST', '/register', { json: { email, password } });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${response.text}`);
  return { email, password, userId: response.body.user_id as string };
}

export async function loginUser(email: string, password: string) {
  const response = await request('POST', '/login', { json: { email, password } });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${response.text}`);
  return response.body as { token: string; refresh_token: string; expires_in: number; token_type: string };
}
