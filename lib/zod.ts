/**
 * zod as every module here imports it: `zod/mini`, the tree-shakable form (only the schemas and
 * checks we call reach a bundle; the classic API's methods bring all of zod along), with the
 * English messages the classic API registers by itself. Every schema is written against this module
 * so the messages are configured before anything parses.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());

export * from 'zod/mini';
