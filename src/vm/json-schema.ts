// JSON Schema checks with ajv, as upstream's quick-launch.sh checks its config.yaml (python
// jsonschema, draft 7, formats such as ipv4 checked): one compile, and what is wrong in the
// schema's own words.
import {Ajv, type ErrorObject} from 'ajv';
import formatsModule from 'ajv-formats';

export type Validate = ((data: unknown) => boolean) & {errors?: ErrorObject[] | null};

export function compileSchema(schema: object): Validate {
  const ajv = new Ajv({allErrors: true, strict: false});
  // A CommonJS module: its default export is the plugin under Node's ESM interop.
  const addFormats = ((formatsModule as unknown as {default?: unknown}).default ?? formatsModule) as (a: Ajv) => Ajv;
  addFormats(ajv);
  return ajv.compile(schema) as Validate;
}

/** Each error as "/path message (detail)", joined. */
export function schemaErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => {
      const p = e.params as Record<string, unknown>;
      const detail = 'additionalProperty' in p ? ` (${String(p.additionalProperty)})` : 'allowedValues' in p ? ` (${(p.allowedValues as unknown[]).join(', ')})` : '';
      return `${e.instancePath || '/'} ${e.message}${detail}`;
    })
    .join('; ');
}
