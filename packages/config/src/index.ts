export { ConfigError } from './errors.js';
export {
  baseFields,
  booleanString,
  emailList,
  envVar,
  httpFields,
  optional,
  port,
  postgresUrl,
  redisFields,
  redisUrl,
  timeZone,
  varMeta,
  withDefault,
  type VarMeta,
} from './fields.js';
export { configOrExit, loadConfig, redacted, scrub, secretValues, type Env } from './load.js';
export { readBuildRelease } from './release.js';
