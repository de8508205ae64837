import { expect } from 'chai';
import { testApp } from './hooks.js';
import type { JsonResponse } from './http.js';

/**
 * Asserts the contract's failure body: {"message":"fail","error":{"code","message"}},
 * plus "fields" only for validation failures, and nothing else (no stack, no request id).
 */
export function expectFailure(response: JsonResponse, status: number, code: string): void {
  expect(response.status, `status of ${response.text}`).to.equal(status);
  expect(response.headers.get('content-type') ?? '').to.match(/^application\/json/);
  expect(response.body, response.text).to.be.an('object');
  expect(Object.keys(response.body).sort()).to.deep.equal(['error', 'message']);
  expect(response.body.message).to.equal('fail');
  const error = response.body.error;
  expect(error.code).to.equal(code);
  expect(error.message).to.be.a('string').and.not.equal('');
  const allowed = ['code', 'message', 'fields'];
  expect(Object.keys(error).every((key) => allowed.includes(key)), `error keys: ${Object.keys(error)}`).to.equal(true);
  if (error.fields !== undefined) {
    expect(error.fields).to.be.an('object');
    for (const value of Object.values(error.fields)) expect(value).to.be.a('string');
  }
  expect(response.text).not.to.match(/\bat .+:\d+:\d+|Error:|node_modules/);
}

/** A 400 invalid_request naming the given field. */
export function expectInvalidField(response: JsonResponse, field: string): void {
  expectFailure(response, 400, 'invalid_request');
  expect(response.body.error.fields, response.text).to.have.property(field).that.is.a('string');
}

export interface RowCounts {
  users: number;
  user_profiles: number;
  outbox: number;
  login_attempts: number;
  sessions: number;
  refresh_tokens: number;
}

/** Row counts of the tables a request could change. */
export async function rowCounts(): Promise<RowCounts> {
  const { rows } = await testApp().services.pool.query<RowCounts>(
    `SELECT (SELECT count(*) FROM users)::int AS users,
            (SELECT count(*) FROM user_profiles)::int AS user_profiles,
            (SELECT count(*) FROM outbox)::int AS outbox,
            (SELECT count(*) FROM login_attempts)::int AS login_attempts,
            (SELECT count(*) FROM sessions)::int AS sessions,
            (SELECT count(*) FROM refresh_tokens)::int AS refresh_tokens`,
  );
  return rows[0]!;
}

/** Runs `fn` and asserts that no row was added to or removed from the tables above. */
export async function expectNoRowChange<T>(fn: () => Promise<T>): Promise<T> {
  const before = await rowCounts();
  const result = await fn();
  expect(await rowCounts()).to.deep.equal(before);
  return result;
}

/** A SQL query on the test database. */
export async function sql<R extends Record<string, any> = any>(text: string, params: unknown[] = []): Promise<R[]> {
  const { rows } = await testApp().services.pool.query<R>(text, params);
  return rows;
}
