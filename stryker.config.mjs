// Mutation testing (`npm run mutate`): Stryker changes one operator, condition or literal at a
// time in the pure decision code and the router's scaling/balancing logic, and checks that some
// unit test fails. Not part of `npm test`: a full run takes tens of minutes.
// @ts-check
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: "npm",
  testRunner: "mocha",
  // The router's front door (checks, body and auth rules, the order of answers) too: its tests
  // are socket tests on 127.0.0.1, slower per mutant, so a run of these files alone is
  // `npm run mutate -- --mutate router/handler.ts,...` (about 40 minutes on 2 shared cores).
  mutate: [
    "core/**/*.ts",
    // Re-exports, and enumerations that are module-level constants only (static mutants, which
    // runs ignore): no run would ever report them.
    "!core/config/index.ts",
    "!core/config/enums.ts",
    "policies/rules.ts",
    "policies/readers.ts",
    "router/balancer.ts",
    "router/autoscaler.ts",
    "router/selfScaler.ts",
    "router/handler.ts",
    "router/frontDoor.ts",
    "router/body.ts",
    "router/authGate.ts",
    "router/request.ts",
  ],
  mochaOptions: {
    // The repository's .mocharc.json: tsx/cjs compiles TypeScript on the fly, and the root hook
    // in test/support cleans up temporary folders.
    config: ".mocharc.json",
    // Only the fast unit tests that exercise the mutated files. Load, Docker, browser and Python
    // heavy suites would multiply the run time for every mutant without covering these files
    // better (perTest coverage runs only the tests that reach a mutant anyway, but the initial
    // run and each test process start pay for every spec listed here).
    spec: [
      "test/core/**/*.test.ts",
      // The Azure ML v1 import's mapping and the stack file's secrets (core/config/v1Import.ts,
      // core/config/pulumiSecrets.ts): pure, tested under test/import/ beside the importer's
      // end-to-end tests, which are not listed.
      "test/import/v1Mapping.test.ts",
      "test/policies/**/*.test.ts",
      "test/router/balancer.test.ts",
      "test/router/autoscaler.test.ts",
      "test/router/selfScaler*.test.ts",
      "test/monitoring/routerGauges.test.ts",
      "test/router/hardening.test.ts",
      "test/router/slots.test.ts",
      "test/router/request.test.ts",
      "test/router/authGate.test.ts",
      "test/router/routing.test.ts",
      "test/router/payload.test.ts",
      "test/router/amlRoutes.test.ts",
      "test/router/oidc.test.ts",
      // The front door's own rules, one file per router file (exact statuses, error codes and
      // messages, deadlines on a scripted clock).
      "test/router/frontDoor-*.test.ts",
      "test/faults/fuzz.test.ts",
    ],
  },
  // The TypeScript checker discards mutants that do not compile before any test runs. It checks
  // tsconfig.stryker.json, which includes only the mutated files (and what they import): about 30
  // files instead of the whole project with its Pulumi provider types, which made each check
  // several times slower. A mutant that only breaks a caller outside these files is then tested
  // instead of discarded, which costs time, never a wrong score.
  checkers: ["typescript"],
  tsconfigFile: "tsconfig.stryker.json",
  coverageAnalysis: "perTest",
  // One test process at a time: the machine running this is shared (2 cores for everyone), and
  // Stryker's default of one process per core would starve everything else.
  concurrency: 1,
  // Reruns test only mutants whose code or covering tests changed since the last run. The
  // incremental file is git-ignored (reports/): it is a cache of one machine's last run, stale
  // as soon as anyone edits a mutated file; the committed record is bench/results/mutation.json.
  incremental: true,
  incrementalFile: "reports/stryker-incremental.json",
  reporters: ["clear-text", "progress", "json", "html"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  // The sandbox copy needs sources, tests and samples only; not build output or local state.
  ignorePatterns: ["/dist", "/.aks-inference", "/bench/results", "/bench/.build", "/.scratch", "/test/artifacts"],
  timeoutMS: 10000,
};
