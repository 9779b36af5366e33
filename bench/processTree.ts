/**
 * Memory of a process and its descendants (a replica: Node and its Python workers), from /proc.
 * Peaks come from each process's VmHWM, reset first (`clear_refs` 5), so a request's peak is
 * exact per process rather than whatever a sampler happened to see.
 */
import { readFileSync, readdirSync, writeFileSync } from "node:fs";

/** `pid` and every descendant (children of all its threads), parents first. */
export function processTree(pid: number): number[] {
  const out = [pid];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const task of tasks) {
    let children = "";
    try {
      children = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8");
    } catch {
      continue;
    }
    for (const child of children.trim().split(/\s+/).filter(Boolean)) out.push(...processTree(Number(child)));
  }
  return out;
}

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0; // exited since it was listed
  }
}

/** Resident memory of the tree now, in bytes. */
export function treeRssBytes(pid: number): number {
  return processTree(pid).reduce((n, p) => n + statusKb(p, "VmRSS") * 1024, 0);
}

/** Starts a peak measurement: each process's high-water mark drops to its current RSS. */
export function resetTreePeak(pid: number): void {
  for (const p of processTree(pid)) writeFileSync(`/proc/${p}/clear_refs`, "5");
}

/**
 * The tree's peak since resetTreePeak, in bytes: the sum of each process's peak (an upper bound
 * of the tree's: their peaks need not coincide, which is the safe side for sizing a limit).
 */
export function treePeakBytes(pid: number): number {
  return processTree(pid).reduce((n, p) => n + statusKb(p, "VmHWM") * 1024, 0);
}
