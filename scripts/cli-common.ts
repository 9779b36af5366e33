/** What the offline scripts share: load a stack file, and report a bad config as the user's error. */
import { ConfigError } from "../core/config";
import { describeEscUnknown, loadStackFile, type ResolvedStack } from "../core/config/stackFile";

/**
 * Loads `Pulumi.<stack>.yaml`; a config error or missing file ends the process with exit code 1.
 * Keys the stack leaves to its ESC environments are named on stderr (unknown offline).
 */
export function loadStackOrExit(stack: string): ResolvedStack {
  try {
    const resolved = loadStackFile(stack);
    if (resolved.environments.length > 0) {
      console.error(
        `Pulumi.${stack}.yaml imports ESC environment${resolved.environments.length > 1 ? "s" : ""} ${resolved.environments.join(", ")}: their values are unknown offline (keys the file does not set take their defaults here unless listed below).`,
      );
    }
    for (const u of resolved.fromEsc) console.error(`Pulumi.${stack}.yaml: ${describeEscUnknown(u)}`);
    return resolved;
  } catch (err) {
    if (err instanceof ConfigError) console.error(`Pulumi.${stack}.yaml: ${err.message}`);
    else if ((err as NodeJS.ErrnoException).code === "ENOENT") console.error(`No stack file Pulumi.${stack}.yaml in ${process.cwd()}`);
    else throw err;
    process.exit(1);
  }
}
