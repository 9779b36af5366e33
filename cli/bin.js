#!/usr/bin/env node
// The `aks-inference` command: registers tsx so the TypeScript CLI runs without a build step.
require("tsx/cjs");
require("./main.ts");
