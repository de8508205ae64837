import { z } from 'zod';
import type { Services } from '../../shared/services.js';
import { defineRoute, type RouteDeclaration } from '../contract/route-declaration.js';
import type { Page } from '../pages/render-page.js';
import { linkToken } from '../schemas.js';

export interface MailedLinkPage {
  path: string;
  operationId: string;
  summary: string;
  /** What the page's button does; the declaration says the rest. */
  description: string;
  tag: string;
  page(token: string, services: Services): Page;
  failedPage(): Page;
}

/**
 * The page a mailed link opens: GET with `?token=`, answered with a page whose form
 * posts the token to the same path, so a mail scanner fetching the link changes nothing.
 * A link without a usable token gets the failure page.
 */
export function mailedLinkPageRoute(link: MailedLinkPage): RouteDeclaration {
  return defineRoute({
    method: 'get',
    path: link.path,
    operationId: link.operationId,
    summary: link.summary,
    description: `${link.description} Fetching it changes nothing.`,
    tag: link.tag,
    access: 'public',
    request: { query: z.object({ token: linkToken }) },
    responses: {
      200: { description: 'The page with its form.', html: true },
      400: { description: 'The link has no usable token.', html: true },
    },
    pageOnFailure: () => ({ status: 400, page: link.failedPage() }),
  }).handle(({ query, services }) => ({ status: 200, page: link.page(query.token, services) }));
}
