/** The contract's error codes and the HTTP status each one answers with. */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_token: 401,
  invalid_credentials: 401,
  invalid_code: 401,
  unauthorized: 401,
  reauthentication_required: 401,
  account_locked: 403,
  account_disabled: 403,
  password_reset_required: 403,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  email_taken: 409,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  not_implemented: 501,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

const DEFAULT_MESSAGES: Record<ErrorCode, string> = {
  invalid_request: 'The request is not valid.',
  invalid_json: 'The request body is not valid JSON.',
  invalid_token: 'The token is invalid or has expired.',
  invalid_credentials: 'The email or password is incorrect.',
  invalid_code: 'The code is wrong or was already used.',
  unauthorized: 'Authentication is required.',
  reauthentication_required: 'Sign in again, or send your password, to change second factors.',
  account_locked: 'This account is locked.',
  account_disabled: 'This account is disabled.',
  password_reset_required: 'The password must be reset before signing in again.',
  forbidden: 'You are not allowed to do this.',
  not_found: 'Not found.',
  method_not_allowed: 'This method is not allowed on this route.',
  email_taken: 'An account with this email already exists.',
  conflict: 'This would leave the account in a state that is not allowed.',
  payload_too_large: 'The request body is too large.',
  unsupported_media_type: 'The request body must be JSON (application/json).',
  rate_limited: 'Too many requests; try again later.',
  internal: 'Something went wrong on our side.',
  not_implemented: 'This method is not supported.',
  unavailable: 'The service is busy; try again shortly.',
};

export interface AppErrorOptions {
  /** Text for humans; the code's usual message when omitted. */
  message?: string;
  /** Per-field reasons of a validation failure (the body's `fields`). */
  fields?: Record<string, string>;
  /** Response headers that go with the failure (Retry-After). */
  headers?: Record<string, string>;
  /**
   * Overrides the code's usual status where the contract says so (a mailed link's token
   * is `400 invalid_token`, a refresh token's is 401).
   */
  status?: number;
}

/** An expected failure: carries its contract code, never a stack trace to the client. */
export class AppError extends Error {
  readonly status: number;
  readonly fields?: Record<string, string>;
  readonly headers?: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    options: AppErrorOptions = {},
  ) {
    super(options.message ?? DEFAULT_MESSAGES[code]);
    this.name = 'AppError';
    this.status = options.status ?? ERROR_STATUS[code];
    if (options.fields) this.fields = options.fields;
    if (options.headers) this.headers = options.headers;
  }
}

export function assertThat(condition: unknown, error: AppError | (() => AppError)): asserts condition {
  if (!condition) throw typeof error === 'function' ? error() : error;
}

/** The contract's error body: nothing per request, so equal failures are byte-equal. */
export function errorBody(error: AppError) {
  return {
    message: 'fail',
    error: {
      code: error.code,
      message: error.message,
      ...(error.fields ? { fields: error.fields } : {}),
    },
  };
}
