/**
 * `aks-inference import-v1 <folder> --stack <name>` (also `npm run import-v1 -- <folder> --stack
 * <name>`): Azure ML v1 AKS services — their deployment and inference configs or service JSON,
 * keys, environment, models and source — as services of a stack (scripts/importV1.ts does it,
 * core/config/v1Import.ts decides it; docs/migrating-from-azure-ml-v1.md).
 */
import * as path from "node:path";
import { Command } from "commander";

interface ImportV1Flags {
  stack: string;
  out: string;
  dryRun?: boolean;
  project: string;
}

/** Adds the `import-v1` command to the CLI's program. */
export function registerImportV1(program: Command): void {
  program
    .command("import-v1 <folder>")
    .description("Import Azure ML v1 AKS services (a service's folder, or a folder of them) into a stack: settings, keys (as secrets), models, environment, source")
    .requiredOption("--stack <name>", "the stack to import into (Pulumi.<name>.yaml, which must exist)")
    .option("--out <dir>", "folder of the project for the services' models, environment and source (<dir>/<service>/)", "imported-v1")
    .option("--project <dir>", "the project's root, where Pulumi.<name>.yaml is", ".")
    .option("--dry-run", "print the stack file's diff, the files to copy and the mapping table; write nothing")
    .action(async (folder: string, flags: ImportV1Flags) => {
      // Loaded only here: the importer takes the config schema and the YAML parser.
      const [{ importV1, ImportV1Error, pulumiCli }, { V1ImportError }, { ConfigError }, { SecretsError }] = await Promise.all([
        import("../scripts/importV1.js"),
        import("../core/config/v1Import.js"),
        import("../core/config/index.js"),
        import("../core/config/pulumiSecrets.js"),
      ]);
      const projectRoot = path.resolve(flags.project);
      try {
        await importV1({
          folder,
          stack: flags.stack,
          projectRoot,
          out: flags.out,
          dryRun: Boolean(flags.dryRun),
          env: process.env,
          pulumi: pulumiCli(projectRoot, process.env),
          print: (text) => console.log(text),
          warn: (text) => console.error(text),
        });
      } catch (err) {
        if (err instanceof V1ImportError || err instanceof ImportV1Error || err instanceof SecretsError) console.error(err.message);
        else if (err instanceof ConfigError) console.error(`Pulumi.${flags.stack}.yaml after the import: ${err.message}`);
        else throw err;
        process.exitCode = 1;
      }
    });
}

if (require.main === module) {
  const program = new Command().name("aks-inference").showHelpAfterError();
  registerImportV1(program);
  program.parseAsync(["node", "import-v1", "import-v1", ...process.argv.slice(2)]).catch((err: unknown) => {
    console.error((err as Error).message);
    process.exitCode = 1;
  });
}
