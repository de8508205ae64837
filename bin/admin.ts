import { loadConfig } from '../shared/config/config.js';
import { loadDotenv } from '../shared/config/dotenv.js';
import { createPool, type Pool } from '../shared/db/pool.js';
import { findUsersWithRole } from '../shared/db/queries/roles.js';
import { findCredentialsByEmail } from '../shared/db/queries/users.js';
import { canonicalEmail } from '../shared/domain/email-address.js';
import { ADMIN_ROLE, grantRole, revokeRole, ROLE_NAME } from '../shared/domain/manage-roles.js';

/**
 * The operator's command line for roles, for the first administrator above all:
 *   npm run admin -- grant-role <email> <role>
 *   npm run admin -- revoke-role <email> <role>
 *   npm run admin -- list-admins
 * Changes write RoleGranted / RoleRevoked like the admin API, without an actor (the
 * operator at the machine). Exit codes: 0 done, 1 unknown address or failure, 2 bad usage.
 */
const USAGE = `usage: npm run admin -- grant-role <email> <role>
       npm run admin -- revoke-role <email> <role>
       npm run admin -- list-admins`;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function changeRole(pool: Pool, command: 'grant-role' | 'revoke-role', email: string, role: string): Promise<number> {
  const user = await findCredentialsByEmail(pool, canonicalEmail(email));
  if (!user) {
    process.stderr.write(`no account has the address ${email}\n`);
    return 1;
  }
  const change = command === 'grant-role' ? grantRole : revokeRole;
  const { changed, roles } = await change(pool, { userId: user.id, role });
  const now = roles.length > 0 ? roles.join(', ') : 'none';
  if (command === 'grant-role') say(changed ? `${email} now has the role ${role} (roles: ${now})` : `${email} already had the role ${role} (roles: ${now})`);
  else say(changed ? `${email} no longer has the role ${role} (roles: ${now})` : `${email} did not have the role ${role} (roles: ${now})`);
  if (changed) say('It applies from the next request: roles are read with the session.');
  return 0;
}

async function listAdmins(pool: Pool): Promise<number> {
  const admins = await findUsersWithRole(pool, ADMIN_ROLE);
  if (admins.length === 0) say(`nobody has the role ${ADMIN_ROLE}; make the first with: npm run admin -- grant-role <email> ${ADMIN_ROLE}`);
  for (const admin of admins) say(`${admin.email}  ${admin.id}  ${admin.status}  since ${admin.granted_at.toISOString()}`);
  return 0;
}

async function main(args: string[]): Promise<number> {
  const [command, email, role, ...rest] = args.filter((arg) => arg !== '--');
  const isChange = (command === 'grant-role' || command === 'revoke-role') && email !== undefined && role !== undefined && rest.length === 0;
  if (!isChange && !(command === 'list-admins' && email === undefined)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (isChange && !ROLE_NAME.test(role!)) {
    process.stderr.write(`"${role}" is not a role name: lowercase letters, digits and _ (for example ${ADMIN_ROLE})\n`);
    return 2;
  }
  loadDotenv();
  const config = loadConfig();
  const pool = createPool({ ...config.database, poolMax: 1 }, 'user-services-admin');
  try {
    return isChange ? await changeRole(pool, command as 'grant-role' | 'revoke-role', email!, role!) : await listAdmins(pool);
  } finally {
    await pool.end();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`admin failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
