/** What the offline scripts share: load a stack file, and report a bad config as the user's error. */
import { ConfigError, type StackConfig } from "../core/config";
import { loadStack } from "../core/stackFile";

/** Loads `Pulumi.<stack>.yaml`; a config error or missing file ends the process with exit code 1. */
export function loadStackOrExit(stack: string): StackConfig {
  try {
    return loadStack(stack);
  } catch (err) {
    if (err instanceof ConfigError) console.error(`Pulumi.${stack}.yaml: ${err.message}`);
    else if ((err as NodeJS.ErrnoException).code === "ENOENT") console.error(`No stack file Pulumi.${stack}.yaml in ${process.cwd()}`);
    else throw err;
    process.exit(1);
  }
}
