export { runCli } from './main.js';
export type { Command, CommandContext, Output } from './context.js';
export { renderTable } from './table.js';
