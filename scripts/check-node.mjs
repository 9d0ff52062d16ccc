// npm puts node_modules/.bin first on PATH, so `node` here is the `node` devDependency.
// Fail early with a clear message if some other Node runs the scripts.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(
    `flagsync-otel needs Node >= 22.19 (running ${process.version}). Run it through npm (npm test / npm run demo), which uses the node devDependency.`,
  );
  process.exit(1);
}
if (process.env.FLAGSYNC_OTEL_PRINT_NODE) console.error(`node ${process.version}`);
