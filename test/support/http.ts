import crypto from 'node:crypto';
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
}

/** A request to the test API (or `baseUrl`); the body is parsed as JSON when it is JSON. */
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
  const response = await fetch((options.baseUrl ?? testApp().url) + path, { method, headers, body });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
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
