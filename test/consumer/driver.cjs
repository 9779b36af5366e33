// Runs a platform team's Pulumi program under mocks, in the program's own folder and with its own
// node_modules, as Pulumi's Node.js language host would run it, and writes what it registered.
//
//   node driver.cjs <spec.json> <result.json>
//
// spec: { "mode": "program", "dir": <program folder>, "typescript": true|false }
//         -> @pulumi/pulumi's own `cmd/run` loader (ts-node registered exactly as `pulumi up`
//            registers it for a TypeScript program), the program's Pulumi.yaml-less folder as main
//     | { "mode": "construct", "dir": <program folder>, "resources": [{ "name", "type", "inputs" }] }
//         -> the installed package as Pulumi's component plugin host serves it to a Python, Go or
//            YAML program: its exported components, the schema analyzed from its sources, and
//            `construct` for each resource
//
// The mocks stand in for the engine of a first preview (below), and every attempt to open a connection or resolve a name is recorded
// and refused: the program must evaluate with no network at all.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const net = require("node:net");
const dns = require("node:dns");
const Module = require("node:module");
const { createRequire } = Module;

const [specFile, resultFile] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(specFile, "utf8"));
const programRequire = createRequire(path.join(spec.dir, "package.json"));

const network = [];
const refuse = (what) => {
  network.push(what);
  return new Error(`network disabled in this test: ${what}`);
};
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const target = typeof args[0] === "object" ? JSON.stringify({ host: args[0].host, port: args[0].port, path: args[0].path }) : String(args[0]);
  // Local IPC (a pipe path) is not the network.
  if (typeof args[0] === "object" && args[0].path) return connect.apply(this, args);
  process.nextTick(() => this.destroy(refuse(`connect ${target}`)));
  return this;
};
dns.lookup = (host, ...rest) => rest[rest.length - 1](refuse(`dns ${host}`));
dns.promises.lookup = async (host) => {
  throw refuse(`dns ${host}`);
};

const pulumi = programRequire("@pulumi/pulumi");
const registered = [];
const invoked = [];
// A first preview, as `pulumi preview` runs in a pull request before anything exists: no new
// resource's outputs are known yet (returning none makes them unknown). Functions answer their
// arguments, except the one any Azure program's tests answer: who is deploying.
const CLIENT_CONFIG = { subscriptionId: "00000000-0000-0000-0000-000000000001", tenantId: "00000000-0000-0000-0000-000000000002", clientId: "00000000-0000-0000-0000-000000000003", objectId: "00000000-0000-0000-0000-000000000004" };
const mocks = {
  newResource(args) {
    registered.push({ type: args.type, name: args.name, inputs: args.inputs, custom: args.custom !== false });
    return { id: undefined, state: {} };
  },
  call(args) {
    invoked.push(args.token);
    return args.token === "azure-native:authorization:getClientConfig" ? CLIENT_CONFIG : args.inputs;
  },
};
const errors = [];
let finished = false;
// A program that fails inside Pulumi's loader is reported through its handlers, and the process
// may end without `run` returning: the result is written on exit whatever happened.
process.on("exit", () => {
  if (!finished) fs.writeFileSync(resultFile, JSON.stringify({ registered, invoked, network, error: errors.length > 0 ? errors.map((e) => String(e && e.stack ? e.stack : e)).join("\n") : "the program did not finish" }));
});

async function main() {
  await pulumi.runtime.setMocks(mocks, "platform", "dev", true);
  if (spec.mode === "program") {
    if (spec.typescript) process.env.PULUMI_NODEJS_TYPESCRIPT = "true";
    process.chdir(spec.dir);
    // cmd/run/index.js is the command's entry: at load it parses argv and connects to an engine.
    // run.js is the loader itself and reads one constant from it: that module stands in.
    const entry = programRequire.resolve("@pulumi/pulumi/cmd/run/index.js");
    const stub = new Module(entry);
    Object.assign(stub, { filename: entry, loaded: true, exports: { nodeJSProcessExitedAfterLoggingUserActionableMessage: 32 } });
    require.cache[entry] = stub;
    const { run } = programRequire("@pulumi/pulumi/cmd/run/run.js");
    await run({ _: ["."] }, () => undefined, (err) => errors.push(err), (err) => errors.includes(err));
  } else {
    const pkg = programRequire("aks-inference");
    const packageDir = path.dirname(programRequire.resolve("aks-inference/package.json"));
    const { ComponentProvider, getPulumiComponents } = programRequire("@pulumi/pulumi/provider/experimental");
    const provider = new ComponentProvider({ components: getPulumiComponents(pkg), name: "aks-inference", dirname: packageDir });
    for (const r of spec.resources) await provider.construct(r.name, r.type, r.inputs, {});
  }
  await pulumi.runtime.disconnect();
  if (errors.length > 0) throw errors[0];
}

main().then(
  () => {
    finished = true;
    fs.writeFileSync(resultFile, JSON.stringify({ registered, invoked, network }));
  },
  (err) => {
    errors.unshift(err);
    process.exitCode = 1;
  },
);
