export {
  type SlackCall,
  type SlackFault,
  type SlackMessage,
  type SlackReply,
  type SlackServer,
  type SlackServerOptions,
  startSlackServer,
} from './slack-server.js';
export { type ReceivedMail, type SmtpServer, startSmtpServer } from './smtp-server.js';
export { adminUrl, createTestDatabase, databaseUrl, dropDatabase, prepareDatabase, type TemplateKind, type TestDatabase } from './db.js';
export { deletePrefix, testRedisUrl, uniquePrefix } from './redis.js';
