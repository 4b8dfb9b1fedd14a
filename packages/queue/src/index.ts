export { InvalidJobPayloadError, QUEUES, jobs, parsePayload, type JobName, type JobPayload, type QueueName } from './catalogue.js';
export { Coalescer } from './coalesce.js';
export { createRedis } from './connection.js';
export { Producer, defaultJobOptions, jobId, type TypedJob } from './producer.js';
export { PermanentJobError, createWorker, type Handlers } from './worker.js';
