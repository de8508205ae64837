import Router from '@koa/router';
import { z } from 'zod';
import { registerUser } from '../../shared/domain/register-user.js';
import { loginWithLimits } from '../../shared/rate-limit/login-with-limits.js';
import type { Services } from '../../shared/services.js';
import { bodyEmail, rateLimit } from '../middleware/koa-rate-limit.js';
import { requestLog } from '../middleware/koa-request-context.js';
import { respondWithTokens } from '../token-response.js';
import { localeField, optionalText, requiredString, timeZoneField } from '../schemas.js';
import { validate } from '../validate.js';

/** Lengths here only bound the input; the domain applies the real email and password rules. */
const registerSchema = z.object({
  email: requiredString(1024),
  password: requiredString(4096),
  display_name: optionalText(100),
  locale: localeField,
  time_zone: timeZoneField,
});

const loginSchema = z.object({
  email: requiredString(1024),
  password: requiredString(4096),
});

/** POST /register (201 {message, user_id}) and POST /login (200 tokens). */
export function authRoutes(services: Services): Router {
  return new Router()
    .post('/register', rateLimit(services.rateLimits, 'register', bodyEmail), async (ctx) => {
      const input = validate(registerSchema, ctx.request.body);
      const { userId } = await registerUser(services, {
        email: input.email,
        password: input.password,
        displayName: input.display_name,
        locale: input.locale,
        timeZone: input.time_zone,
      });
      ctx.status = 201;
      ctx.body = { message: 'success', user_id: userId };
    })
    .post('/login', async (ctx) => {
      const input = validate(loginSchema, ctx.request.body);
      const issued = await loginWithLimits(services, input, {
        ip: ctx.state.clientIp,
        userAgent: ctx.get('user-agent').slice(0, 512) || undefined,
      }, requestLog(ctx));
      respondWithTokens(ctx, issued);
    });
}
