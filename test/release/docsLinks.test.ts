/**
 * The README is short and links to docs/ for every long topic, so a renamed doc or heading would
 * leave a reader at a dead link. Every relative link in README.md and docs/*.md must lead to a
 * file that exists and, with a #fragment, to a heading of it by GitHub's anchor rule.
 */
import * as assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

/** The text outside fenced code blocks and inline code spans: links and headings in code are examples, not links. */
function prose(markdown: string): string {
  let fence: string | undefined;
  const lines = markdown.split("\n").map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker !== undefined) {
      fence = marker;
      return "";
    }
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return "";
    }
    return line;
  });
  return lines.join("\n").replace(/(`+)[\s\S]*?\1/g, (span) => (span.includes("\n\n") ? span : "code"));
}

/**
 * GitHub's heading anchors (github-slugger's rule): the heading as rendered text, lower-cased,
 * every character but letters, digits, `_`, `-` and spaces dropped, spaces as `-`; a repeated
 * anchor gets `-1`, `-2`, ... Explicit `<a id>` / `<a name>` anchors count too.
 */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fence: string | undefined;
  for (const line of markdown.split("\n")) {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker !== undefined && (fence === undefined || (marker[0] === fence[0] && marker.length >= fence.length))) {
      fence = fence === undefined ? marker : undefined;
      continue;
    }
    if (fence !== undefined) continue;
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1]);
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const text = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/<[^>]+>/g, "")
      .replace(/[`*]/g, "");
    const base = text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Relative link targets of a markdown file: inline links and images, and reference definitions. */
export function linksOf(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
  const defined = [...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]);
  return [...inline, ...defined].filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** Each broken link of `file` (relative to ROOT), as `file: target (why)`. */
export function brokenLinks(file: string, read: (file: string) => string | undefined): string[] {
  const source = read(file);
  if (source === undefined) return [`${file}: not found`];
  const broken: string[] = [];
  for (const target of linksOf(source)) {
    const [pathPart, fragment] = target.split("#", 2) as [string, string | undefined];
    const linked = pathPart === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURI(pathPart)));
    const text = linked === file ? source : read(linked);
    if (text === undefined && !existsSync(path.join(ROOT, linked))) {
      broken.push(`${file}: ${target} (no file ${linked})`);
      continue;
    }
    if (fragment === undefined || !linked.endsWith(".md")) continue;
    if (text === undefined || !anchorsOf(text).has(decodeURIComponent(fragment))) broken.push(`${file}: ${target} (no heading #${fragment} in ${linked})`);
  }
  return broken;
}

function readRepoFile(file: string): string | undefined {
  try {
    return readFileSync(path.join(ROOT, file), "utf8");
  } catch {
    return undefined;
  }
}

describe("documentation links", () => {
  it("anchors follow GitHub: punctuation dropped, code unwrapped, repeats numbered", () => {
    const md = "# Python entry scripts: Azure ML's contract, and ours\n## `/score`\n```sh\n# not a heading\n```\n## Router\n## Router\n### inference-schema stand-in (`compat/inference_schema`)\n";
    assert.deepEqual([...anchorsOf(md)], ["python-entry-scripts-azure-mls-contract-and-ours", "score", "router", "router-1", "inference-schema-stand-in-compatinference_schema"]);
  });

  it("reports a missing file and a missing heading, and ignores links in code and external links", () => {
    const files: Record<string, string> = {
      "README.md": "[ok](docs/a.md#install) [gone](docs/missing.md) [bad](docs/a.md#nope) [self](#top) `[code](docs/x.md)` [web](https://example.com/x.md#y)\n# Top\n```md\n[fenced](docs/y.md)\n```\n",
      "docs/a.md": "# A\n## Install\n[back](../README.md#top)\n",
    };
    assert.deepEqual(brokenLinks("README.md", (f) => files[f]), ["README.md: docs/missing.md (no file docs/missing.md)", "README.md: docs/a.md#nope (no heading #nope in docs/a.md)"]);
    assert.deepEqual(brokenLinks("docs/a.md", (f) => files[f]), []);
  });

  it("every relative link in README.md and docs/*.md resolves to a file and heading", () => {
    const docs = readdirSync(path.join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`);
    assert.ok(docs.length > 0);
    const broken = ["README.md", ...docs].flatMap((f) => brokenLinks(f, readRepoFile));
    assert.deepEqual(broken, []);
  });
});
