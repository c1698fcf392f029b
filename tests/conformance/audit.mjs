// The graphql-http server audit (GraphQL over HTTP spec) against a running ozg-registry.
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql
// Exits 1 when any MUST or SHOULD audit fails; MAY audits are reported only.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <url of /graphql>');
  process.exit(2);
}
const counts = { MUST: [0, 0], SHOULD: [0, 0], MAY: [0, 0] };
let failed = 0;
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  const level = audit.name.split(' ')[0];
  const c = counts[level] ?? (counts[level] = [0, 0]);
  if (result.status === 'ok') {
    c[0] += 1;
  } else {
    c[1] += 1;
    const mark = level === 'MAY' ? 'note' : 'FAIL';
    if (level !== 'MAY') failed += 1;
    console.log(`${mark} ${audit.id} ${audit.name}: ${result.reason}`);
  }
}
for (const [level, [ok, bad]] of Object.entries(counts)) {
  console.log(`${level}: ${ok} passed, ${bad} failed`);
}
process.exit(failed === 0 ? 0 : 1);
