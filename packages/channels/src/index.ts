export { createEmailChannel, type EmailChannel, type EmailChannelOptions } from './email.js';
export { type DeliveryProvider, PermanentDeliveryError, TransientDeliveryError } from './errors.js';
export { type Clock, createPacer, type Pacer, type PacingOptions } from './pacing.js';
export {
  alertSubject,
  alertText,
  digestSubject,
  digestText,
  formatDate,
  formatDateTime,
  formatDuration,
  transitionText,
} from './render.js';
export { createSinkChannel, type SinkChannel, type SinkChannelOptions, type SinkLogger } from './sink.js';
export { createSlackChannel, type SlackChannel, type SlackChannelOptions } from './slack.js';
export type * from './types.js';
