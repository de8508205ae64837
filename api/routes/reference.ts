import { z } from 'zod';
import { defineRoute, type RouteDeclaration } from '../contract/route-declaration.js';

export interface ReferenceDocuments {
  openapi: () => Promise<object>;
  asyncapi: () => object;
}

const CACHE = { 'Cache-Control': 'public, max-age=300' };

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
    }).handle(async () => ({ status: 200, body: (await documents.openapi()) as { openapi: '3.1.0' }, headers: CACHE })),
    defineRoute({
      method: 'get',
      path: '/asyncapi.json',
      operationId: 'asyncApiDocument',
      summary: 'The events on RabbitMQ as AsyncAPI 3.0',
      description: 'The `user.events` exchange, one message per event type (the routing key) with its payload schema and AMQP properties. Consumers bind a durable queue of their own and dedupe by `message_id`.',
      tag: 'Reference',
      access: 'public',
      responses: { 200: { description: 'The AsyncAPI document.', json: z.looseObject({ asyncapi: z.literal('3.0.0') }) } },
    }).handle(() => ({ status: 200, body: documents.asyncapi() as { asyncapi: '3.0.0' }, headers: CACHE })),
  ];
}
