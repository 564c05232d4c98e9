// Runs AWS's runtime interface client (aws-lambda-ric from npm, its dist/index.mjs: the first
// argument) on the handler (the second), as AWS's managed Node.js runtimes run it. The package's
// own executable is meant for container images and first logs "Executing '<handler>' in function
// directory '<dir>'", a line no managed runtime writes to a function's log.
import { pathToFileURL } from "node:url";

const [client, handler] = process.argv.slice(2);
const { run } = await import(pathToFileURL(client).href);
await run(process.cwd(), handler);
