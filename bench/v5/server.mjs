// PostGraphile 5 with the V4 compatibility preset, as a peer for bench/ (see ../README.md).
//
//   <node 22> bench/v5/server.mjs <database-url> <port> [workers]
//
// Serves POST /graphql on 127.0.0.1:<port> over the `public` schema, configured like the
// PostGraphile 4 CLI that bench/run starts (V4 defaults: connections only, RBAC and indexes
// ignored, default CRUD mutations on), tuned for throughput: no explain, no Ruru/GraphiQL, no
// websockets, no watch, Grafast in production mode, grafserv's `outputDataAsString`.
//
// PostGraphile 5 has no cluster mode of its own (its CLI lost V4's --cluster-workers). With
// [workers] > 1 this script forks that many copies through Node's own `cluster` module, which
// share the listening socket; each builds its own schema and its own pg pool. The default is
// one process.
import cluster from 'node:cluster';
import { createServer } from 'node:http';

const [dbUrl, portArg, workersArg = '1'] = process.argv.slice(2);
const port = Number(portArg);
const workers = Number(workersArg);
if (!dbUrl || !Number.isInteger(port) || !Number.isInteger(workers) || workers < 1) {
  console.error('usage: server.mjs <database-url> <port> [workers]');
  process.exit(2);
}

// Read when Grafast loads, hence the dynamic imports below.
process.env.GRAPHILE_ENV ??= 'production';
process.env.NODE_ENV ??= 'production';

if (workers > 1 && cluster.isPrimary) {
  let stopping = false;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    console.error(`worker ${worker.process.pid} exited (${signal ?? code}); stopping`);
    stopping = true;
    for (const w of Object.values(cluster.workers)) w?.kill();
    process.exitCode = 1;
  });
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      stopping = true;
      for (const w of Object.values(cluster.workers)) w?.kill(sig);
      process.exit(0);
    });
  }
} else {
  const { postgraphile } = await import('postgraphile');
  const { PostGraphileAmberPreset } = await import('postgraphile/presets/amber');
  const { makeV4Preset } = await import('postgraphile/presets/v4');
  const { makePgService } = await import('postgraphile/adaptors/pg');
  const { grafserv } = await import('postgraphile/grafserv/node');

  /** @type {GraphileConfig.Preset} */
  const preset = {
    extends: [
      PostGraphileAmberPreset,
      makeV4Preset({
        // The V4 CLI's defaults, spelled out.
        simpleCollections: 'omit',
        setofFunctionsContainNulls: true,
        dynamicJson: false,
        ignoreRBAC: true,
        ignoreIndexes: true,
        disableDefaultMutations: false,
        graphiql: false,
        allowExplain: false,
        subscriptions: false,
        watchPg: false,
      }),
    ],
    pgServices: [makePgService({ connectionString: dbUrl, schemas: ['public'], pubsub: false })],
    grafast: { explain: false },
    grafserv: {
      graphqlPath: '/graphql',
      graphiql: false,
      graphiqlOnGraphQLGET: false,
      websockets: false,
      watch: false,
      outputDataAsString: true,
    },
  };

  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  server.on('error', (e) => {
    console.error('server error', e);
    process.exit(1);
  });
  await serv.addTo(server);
  // Build the schema (introspection) before taking requests, so the first answers are not slow.
  await pgl.getSchema();
  server.listen({ host: '127.0.0.1', port }, () => {
    console.error(`PostGraphile 5 (V4 preset) on http://127.0.0.1:${port}/graphql, pid ${process.pid}`);
  });
  const stop = async () => {
    server.close();
    await pgl.release().catch(() => {});
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
