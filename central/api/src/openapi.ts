// The OpenAPI 3.1 document of the API, built from the route table and the same zod schemas that
// validate requests, so it cannot drift from what the server accepts.
import { z } from 'zod';
import type { Route } from './http/route.js';
import { MAX_BODY_BYTES } from './http/server.js';
import { errorResponse } from './routes/responses.js';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType): JsonSchema {
  // Requests are described as they arrive (before transforms), responses as they are sent.
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  });
  return rest;
}

function outputSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io: 'output',
    unrepresentable: 'any',
  });
  return rest;
}

function parameters(route: Route): unknown[] {
  // A {name} segment of the path (http/server.ts matches it) is a required path parameter.
  const inPath = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1]!,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  if (!route.query) return inPath;
  const schema = jsonSchema(route.query) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return [
    ...inPath,
    ...Object.entries(schema.properties ?? {}).map(([name, property]) => {
      const { description, ...rest } = property as { description?: string };
      return {
        name,
        in: 'query',
        required: schema.required?.includes(name) ?? false,
        ...(description !== undefined && { description }),
        schema: rest,
      };
    }),
  ];
}

const ERRORS: Record<string, string> = {
  '400': 'a parameter or the body is invalid; the message names the field',
  '401': 'no token, or a token that is forged, malformed or expired',
  '403': "the caller's role or scope does not allow what was asked; the message names it",
  '500': 'the server failed; the detail is in its log, not in the answer',
};

/** The OpenAPI document for `routes`. */
export function openApiDocument(routes: readonly Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const error = {
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
  for (const r of routes) {
    const responses: Record<string, unknown> = {
      '200': {
        description: 'OK',
        content: { 'application/json': { schema: outputSchema(r.response) } },
      },
    };
    for (const [code, description] of Object.entries({ ...ERRORS, ...r.otherErrors })) {
      if (!r.auth && code === '403') continue;
      responses[code] = { description, ...error };
    }
    if (r.body)
      responses['413'] = {
        description: `the body is over ${r.maxBodyBytes ?? MAX_BODY_BYTES} bytes`,
        ...error,
      };
    // OpenAPI writes a path's `:name` segment as `{name}`, a parameter in the path.
    const path = r.path.replace(/\/:([A-Za-z]+)/g, '/{$1}');
    const inPath = [...r.path.matchAll(/\/:([A-Za-z]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    paths[path] ??= {};
    paths[path]![r.method.toLowerCase()] = {
      summary: r.summary,
      operationId: `${r.method.toLowerCase()}${r.path.replace(/^\/api\/v1/, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      security: r.auth ? [{ bearer: [] }] : [],
      parameters: [...inPath, ...parameters(r)],
      ...(r.body && {
        requestBody: {
          required: true,
          content: { 'application/json': { schema: jsonSchema(r.body) } },
        },
      }),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'ccfed API',
      version: '1',
      description:
        "Live status and analytics of the contact-center federation. Every route but opening a session and this document needs a bearer token; what it answers is restricted to the caller's site (site supervisors) or tenant (tenant clients).",
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Error: outputSchema(errorResponse) },
    },
    paths,
  };
}
