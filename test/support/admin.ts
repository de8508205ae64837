import { grantRole } from '../../shared/domain/manage-roles.js';
import { testApp } from './hooks.js';
import { loginUser, registerUser } from './http.js';

/** A registered user with the admin role, signed in. */
export async function signedInAdmin() {
  const user = await registerUser();
  await grantRole(testApp().services.pool, { userId: user.userId, role: 'admin' });
  const tokens = await loginUser(user.email, user.password);
  return { ...user, token: tokens.token, auth: { authorization: `Bearer ${tokens.token}` } };
}

/** A registered user without roles, signed in. */
export async function signedInUser() {
  const user = await registerUser();
  const tokens = await loginUser(user.email, user.password);
  return { ...user, token: tokens.token, auth: { authorization: `Bearer ${tokens.token}` } };
}
