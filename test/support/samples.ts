/**
 * The dev stack's Python sample model is trained on the machine, not committed (see
 * samples/prepare.ts): train it once before any test evaluates the dev stack, and fail loudly
 * when that is impossible instead of letting every stack test fail on a missing file.
 */
import * as path from "node:path";
import { prepareSamples } from "../../samples/prepare";

// The repository root, computed here rather than imported from ./stacks: a root hook loads before
// any test file and stays loaded, so importing the stack helpers here would load core/ once for
// the whole run, and mutation testing (npm run mutate) could then never reload a changed module.
const REPO_ROOT = path.resolve(__dirname, "..", "..");

export const mochaHooks = {
  beforeAll(): void {
    const problems = prepareSamples(REPO_ROOT);
    if (problems.length > 0) throw new Error(`sample models could not be trained:\n${problems.join("\n")}`);
  },
};
