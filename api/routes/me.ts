import { z } from 'zod';
import { describeUser } from '../../shared/domain/describe-user.js';
import { defineRoute } from '../contract/route-declaration.js';
import { mfaMethodSummary, timestamp, USER_STATUSES } from '../schemas.js';

const meBody = z
  .object({
    id: z.uuid(),
    email: z.email(),
    email_verified: z.boolean(),
    status: z.enum(USER_STATUSES),
    created_at: timestamp,
    roles: z.array(z.string()),
    profile: z
      .object({ display_name: z.string().nullable(), avatar_url: z.string().nullable(), locale: z.string().nullable(), time_zone: z.string().nullable() })
      .nullable(),
    mfa: z.object({ enabled: z.boolean(), methods: z.array(mfaMethodSummary) }),
  })
  .meta({ id: 'Me' });

export const meRoute = defineRoute({
  method: 'get',
  path: '/me',
  operationId: 'getMe',
  summary: 'The signed-in account',
  tag: 'Account',
  access: 'bearer',
  responses: {
    200: {
      description: 'The account with its profile, roles and second factors (never a hash or a secret).',
      json: meBody,
      example: {
        id: '0b8f5c1e-4a63-4d47-9a55-3f0f2b9c6d11',
        email: 'ada@example.com',
        email_verified: true,
        status: 'active',
        created_at: '2026-11-29T10:00:00.000Z',
        roles: [],
        profile: { display_name: 'Ada', avatar_url: null, locale: 'en', time_zone: 'UTC' },
        mfa: { enabled: false, methods: [] },
      },
    },
  },
}).handle(async ({ auth, services }) => {
  return { status: 200, body: await describeUser(services.pool, auth.userId) };
});
