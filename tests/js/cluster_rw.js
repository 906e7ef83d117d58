// Writes and reads back keys across all slots through ioredis's Cluster
// client, then prints one JSON line with the counts. Usage:
//   node cluster_rw.js <port> [nkeys]
const Redis = require("ioredis");

async function main() {
  const port = parseInt(process.argv[2], 10);
  const n = parseInt(process.argv[3] || "2000", 10);
  const cluster = new Redis.Cluster([{ host: "127.0.0.1", port }], {
    redisOptions: { connectTimeout: 2000 },
    clusterRetryStrategy: () => null,
  });
  let written = 0, matched = 0;
  const slots = new Set();
  for (let i = 0; i < n; i++) {
    const key = `ioredis:${i}`;
    await cluster.set(key, `v${i}`);
    written++;
  }
  for (let i = 0; i < n; i++) {
    const v = await cluster.get(`ioredis:${i}`);
    if (v === `v${i}`) matched++;
  }
  const nodes = cluster.nodes("master").map((r) => `${r.options.host}:${r.options.port}`);
  console.log(JSON.stringify({ written, matched, masters: nodes.length }));
  cluster.disconnect();
}

const timer = setTimeout(() => { console.error("timeout"); process.exit(2); }, 30000);
main().then(() => { clearTimeout(timer); }).catch((e) => { console.error(String(e)); process.exit(1); });
