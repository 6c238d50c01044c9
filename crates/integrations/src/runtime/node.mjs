// aslan's Node.js runtime for Lambda-style handlers: `node node.mjs CODE_DIR MODULE FUNCTION once|pool`.
// The same protocol as python.py: once (event on stdin, result or error object on stdout, exit 1 on
// error) or pool (one JSON request per line, one {"result"} or {"error"} answer per line).
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { existsSync } from "node:fs";
import path from "node:path";

const [codeDir, moduleName, functionName, mode] = process.argv.slice(2);
const out = process.stdout;
console.log = console.info = console.warn = console.debug = console.error;

function errorObject(err) {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    errorType: e.name || "Error",
    errorMessage: e.message,
    trace: String(e.stack || "").split("\n"),
  };
}

async function load() {
  for (const ext of [".mjs", ".js", ".cjs"]) {
    const file = path.join(codeDir, moduleName + ext);
    if (existsSync(file)) {
      const mod = await import(pathToFileURL(file).href);
      const fn = mod[functionName] ?? mod.default?.[functionName];
      if (typeof fn !== "function") {
        throw Object.assign(new Error(`${moduleName}.${functionName} is undefined or not exported`), { name: "Runtime.HandlerNotFound" });
      }
      return fn;
    }
  }
  throw Object.assign(new Error(`Cannot find module '${moduleName}'`), { name: "Runtime.ImportModuleError" });
}

function context(requestId, deadlineMs) {
  return {
    awsRequestId: requestId,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME || "",
    functionVersion: "$LATEST",
    invokedFunctionArn: process.env.ASLAN_FUNCTION_ARN || "",
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE || "",
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
  };
}

function call(handler, event, ctx) {
  return new Promise((resolve, reject) => {
    const maybe = handler(event, ctx, (err, value) => (err ? reject(err) : resolve(value)));
    if (maybe && typeof maybe.then === "function") maybe.then(resolve, reject);
  });
}

async function main() {
  let handler;
  try {
    handler = await load();
  } catch (err) {
    if (mode === "once") {
      out.write(JSON.stringify(errorObject(err)));
      process.exitCode = 1;
      return;
    }
    for await (const _ of createInterface({ input: process.stdin })) {
      out.write(JSON.stringify({ error: JSON.stringify(errorObject(err)) }) + "\n");
    }
    return;
  }
  if (mode === "once") {
    let raw = "";
    for await (const chunk of process.stdin) raw += chunk;
    const requestId = process.env.ASLAN_REQUEST_ID || "";
    const deadline = Number(process.env.ASLAN_DEADLINE_MS || 0);
    try {
      const result = await call(handler, raw.trim() ? JSON.parse(raw) : {}, context(requestId, deadline));
      out.write(JSON.stringify(result === undefined ? null : result));
    } catch (err) {
      out.write(JSON.stringify(errorObject(err)));
      process.exitCode = 1;
    }
    return;
  }
  for await (const line of createInterface({ input: process.stdin })) {
    const request = JSON.parse(line);
    let text;
    try {
      const result = await call(handler, request.event, context(request.requestId, request.deadlineMs || 0));
      text = JSON.stringify({ result: result === undefined ? null : result });
    } catch (err) {
      text = JSON.stringify({ error: JSON.stringify(errorObject(err)) });
    }
    out.write(text + "\n");
  }
}

main();
