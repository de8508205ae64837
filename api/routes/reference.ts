import { z } from 'zod';
import { defineRoute, type RouteDeclaration } from '../contract/route-declaration.js';

export interface ReferenceDocuments {
  openapi: () => Promise<object>;
}

/** The machine-readable contracts, generated from the declarations when the app starts. */
export function referenceRoutes(documents: ReferenceDocuments): RouteDeclaration[] {
  return [
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      operationId: 'openApiDocument',
      summary: 'This document: the HTTP API as OpenAPI 3.1',
      tag: 'Reference',
      access: 'public',
      responses: { 200: { description: 'The OpenAPI document.', json: z.looseObject({ openapi: z.literal('3.1.0') }) } },
    }).handle(async () => ({ status: 200, body: (await documents.openapi()) as { openapi: '3.1.0' }, headers: { 'Cache-Control': 'public, max-age=300' } })),
  ];
}
