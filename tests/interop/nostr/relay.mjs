// A real Nostr relay for switchboard's interop test: @nostr-relay/core
// with its validator (ids and signatures checked) and SQLite repository,
// behind a `ws` server on 127.0.0.1.
//
//   node relay.mjs PORT_FILE [DB_FILE]
//
// Writes the listening port to PORT_FILE once it accepts connections;
// exits when its parent does (stdin closes) or on SIGTERM.
import { writeFileSync, renameSync } from 'node:fs';
import { createOutgoingNoticeMessage } from '@nostr-relay/common';
import { NostrRelay } from '@nostr-relay/core';
import { EventRepositorySqlite } from '@nostr-relay/event-repository-sqlite';
import { Validator } from '@nostr-relay/validator';
import { WebSocketServer } from 'ws';

const [portFile, dbFile] = process.argv.slice(2);
if (!portFile) {
  console.error('usage: node relay.mjs PORT_FILE [DB_FILE]');
  process.exit(2);
}

const repository = new EventRepositorySqlite(dbFile || ':memory:');
await repository.init();
const relay = new NostrRelay(repository);
const validator = new Validator();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });

wss.on('connection', (ws) => {
  relay.handleConnection(ws);
  ws.on('message', async (data) => {
    try {
      const message = await validator.validateIncomingMessage(data);
      await relay.handleMessage(ws, message);
    } catch (e) {
      ws.send(JSON.stringify(createOutgoingNoticeMessage(
        'invalid: ' + (e && e.message ? e.message : String(e)))));
    }
  });
  ws.on('close', () => relay.handleDisconnect(ws));
  ws.on('error', () => relay.handleDisconnect(ws));
});

wss.on('listening', () => {
  const tmp = portFile + '.tmp';
  writeFileSync(tmp, String(wss.address().port) + '\n');
  renameSync(tmp, portFile);
});

async function shutdown() {
  for (const ws of wss.clients) ws.terminate();
  wss.close();
  await relay.destroy();
  await repository.destroy();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.resume();
