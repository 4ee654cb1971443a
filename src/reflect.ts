// Loads the Reflect metadata API before werift and our TLS code: @peculiar/x509 (via
// tsyringe) refuses to load without it. An ES module of its own, because Bun's bundler
// runs a module's ES-module imports before its CommonJS ones: a bare
// `import "reflect-metadata"` beside `import ... from "werift"` would come too late.
import "reflect-metadata";
