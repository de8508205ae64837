import type { Config } from '../shared/config/config.js';
import { buildAsyncApiDocument } from '../shared/events/asyncapi-document.js';
import { serviceVersion } from '../shared/project-root.js';
import { buildOpenApiDocument } from './contract/openapi-document.js';
import type { RouteDeclaration } from './contract/route-declaration.js';
import { listFailedOutboxRoute, listGivenUpReactionsRoute, replayOutboxRoute, replayReactionsRoute, searchAuditRoute } from './routes/admin-operations.js';
import { grantUserRoleRoute, revokeUserRoleRoute } from './routes/admin-roles.js';
import { adminSecondStepRoute, adminSignInPageRoute, adminSignInRoute, adminSignOutPageRoute, adminSignOutRoute } from './routes/admin-sign-in.js';
import { clearUserMfaRoute, deleteUserRoute, getUserRoute, listUsersRoute, revokeUserSessionsRoute, setUserStatusRoute } from './routes/admin-users.js';
import { changePasswordRoute, deleteAccountRoute, exportAccountRoute } from './routes/account.js';
import { loginRoute, registerRoute } from './routes/auth.js';
import { docsRoutes } from './routes/docs.js';
import { resendVerificationRoute, verifyEmailPageRoute, verifyEmailRoute } from './routes/email-verification.js';
import { healthRoute, readyRoute } from './routes/health.js';
import { jwksRoute } from './routes/jwks.js';
import { meRoute } from './routes/me.js';
import { forgotPasswordRoute, resetPasswordPageRoute, resetPasswordRoute } from './routes/password-reset.js';
import { getProfileRoute, updateProfileRoute } from './routes/profile.js';
import { referenceRoutes } from './routes/reference.js';
import { notMePageRoute, notMeRoute } from './routes/security.js';
import { endSessionRoute, listSessionsRoute, logoutAllRoute, logoutRoute } from './routes/sessions.js';
import { activateTotpRoute, enrollTotpRoute, loginMfaRoute, removeTotpRoute, renewRecoveryCodesRoute } from './routes/second-factors.js';
import { refreshTokenRoute } from './routes/tokens.js';
import { WEBAUTHN_LOGIN_ROUTES, WEBAUTHN_ROUTES } from './routes/webauthn.js';

/** The API's routes, in the order of the reference. */
export const API_ROUTES: readonly RouteDeclaration[] = [
  healthRoute,
  readyRoute,
  jwksRoute,
  registerRoute,
  loginRoute,
  loginMfaRoute,
  ...WEBAUTHN_LOGIN_ROUTES,
  refreshTokenRoute,
  meRoute,
  getProfileRoute,
  updateProfileRoute,
  changePasswordRoute,
  deleteAccountRoute,
  exportAccountRoute,
  listSessionsRoute,
  endSessionRoute,
  logoutRoute,
  logoutAllRoute,
  enrollTotpRoute,
  activateTotpRoute,
  removeTotpRoute,
  renewRecoveryCodesRoute,
  ...WEBAUTHN_ROUTES,
  verifyEmailPageRoute,
  verifyEmailRoute,
  resendVerificationRoute,
  forgotPasswordRoute,
  resetPasswordPageRoute,
  resetPasswordRoute,
  notMePageRoute,
  notMeRoute,
  listUsersRoute,
  getUserRoute,
  setUserStatusRoute,
  revokeUserSessionsRoute,
  grantUserRoleRoute,
  revokeUserRoleRoute,
  deleteUserRoute,
  clearUserMfaRoute,
  searchAuditRoute,
  listFailedOutboxRoute,
  replayOutboxRoute,
  listGivenUpReactionsRoute,
  replayReactionsRoute,
  adminSignInPageRoute,
  adminSignInRoute,
  adminSecondStepRoute,
  adminSignOutPageRoute,
  adminSignOutRoute,
];

/**
 * Every route the app serves: the API, the reference documents of all of them (the
 * documents describe themselves too) and the docs page that renders the OpenAPI one.
 * Each document is built from these declarations once per app, at its first request.
 */
export function appRoutes(config: Pick<Config, 'publicUrl' | 'rabbitmqUrl'>): readonly RouteDeclaration[] {
  let openapi: Promise<object> | undefined;
  let asyncapi: object | undefined;
  const routes: RouteDeclaration[] = [
    ...API_ROUTES,
    ...referenceRoutes({
      openapi: () => (openapi ??= buildOpenApiDocument(routes, { version: serviceVersion(), publicUrl: config.publicUrl })),
      asyncapi: () => (asyncapi ??= buildAsyncApiDocument({ publicUrl: config.publicUrl, amqpUrl: config.rabbitmqUrl })),
    }),
    ...docsRoutes(),
  ];
  return routes;
}
