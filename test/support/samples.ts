/**
 * The dev stack's Python sample model is trained on the machine, not committed (see
 * samples/prepare.ts): train it once before any test evaluates the dev stack, and fail loudly
 * when that is impossible instead of letting every stack test fail on a missing file.
 */
import { prepareSamples } from "../../samples/prepare";
import { REPO_ROOT } from "./stacks";

export const mochaHooks = {
  beforeAll(): void {
    const problems = prepareSamples(REPO_ROOT);
    if (problems.length > 0) throw new Error(`sample models could not be trained:\n${problems.join("\n")}`);
  },
};
