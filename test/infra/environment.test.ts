/**
 * The InferenceEnvironment component as a deployed stack meets it: the URNs the dev and prod
 * stacks had before the component existed (test/fixtures/urns/, captured from that code) are each
 * still registered or answered by an alias, so `pulumi up` adopts every resource instead of
 * replacing it; and several environments in one program do not collide.
 */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { InferenceEnvironment } from "../../components/inferenceEnvironment";
import * as pulumi from "@pulumi/pulumi";
import { EnvironmentArgsError, parseEnvironmentArgs, rawConfigToArgs, type InferenceEnvironmentArgs } from "../../core/config/environmentArgs";
import { documentedNetwork, runOffline, runOfflineProgram, type PlannedResource } from "../../scripts/offline";
import { REPO_ROOT, rawStack, stackConfig, stackWithoutVersions } from "../support/stacks";

/** Image builds move to @pulumi/docker-build (issue 15): a new resource type replaces them by design; rebuilding an image replaces nothing in Azure. */
const REBUILT = "$docker:index/image:Image::";
/**
 * Uploaded blobs are named by their content hash: a sample whose content changed (the diabetes
 * model and package since the model is committed with its pinned environment) is a new blob by
 * design, which replaces nothing else. They are compared without that hash.
 */
const withoutContentHash = (urn: string): string => (urn.includes("$pulumi-nodejs:dynamic/aks-inference:UploadedBlob::") ? urn.replace(/-[0-9a-f]{16}(?=[-.])/g, "-<content>") : urn);

/**
 * Resources added since the fixtures were captured, which replace nothing (issue 26 item 11,
 * upgrades): the cluster's planned maintenance windows and the multi-replica model services'
 * PodDisruptionBudgets. Compared as own type and name.
 */
const ADDED = [/::monitoring(-[a-z0-9-]+)?$/, /::prometheus-scrape(-[a-z0-9-]+)?$/, /^azure-native:containerservice:MaintenanceConfiguration::aks-(auto|node-os)-upgrade-schedule$/, /^kubernetes:policy\/v1:PodDisruptionBudget::svc-[a-z0-9-]+-pdb$/, /^azure-native:authorization:RoleAssignment::aks-(deployer-rbac-cluster-admin|oncall-(rbac-reader|cluster-user))$/];

function formerUrns(stack: string): string[] {
  return readFileSync(path.join(REPO_ROOT, "test", "fixtures", "urns", `${stack}.txt`), "utf8")
    .split("\n")
    .filter(Boolean);
}

/** The URN's type chain and name: `aks-inference:cluster:Cluster$azure-native:...::aks`. */
const tail = (urn: string) => urn.split("::").slice(2).join("::");
/** The resource's own type and name, without its parents' types. */
const own = (urn: string) => {
  const [types, name] = tail(urn).split("::");
  return `${types.split("$").pop()}::${name}`;
};

/**
 * The plan with each URN as the engine makes it: a child's type is prefixed with its parent's
 * whole type chain. Pulumi's mock monitor prefixes only the parent's own type, which is the same
 * for a child of a top-level resource (all the former stack had) but not one level deeper.
 * Aliases are resolved by the SDK itself, from the real chain.
 */
function withEngineUrns(plan: PlannedResource[]): PlannedResource[] {
  const byUrn = new Map(plan.map((r) => [r.urn, r]));
  const real = new Map<string, string>();
  const urnOf = (r: PlannedResource): string => {
    let urn = real.get(r.urn);
    if (urn === undefined) {
      const parent = r.parentUrn ? byUrn.get(r.parentUrn) : undefined;
      const head = r.urn.split("::").slice(0, 2).join("::");
      urn = parent ? `${urnOf(parent).slice(0, urnOf(parent).lastIndexOf("::"))}$${r.type}::${r.name}` : `${head}::${r.type}::${r.name}`;
      real.set(r.urn, urn);
    }
    return urn;
  };
  return plan.map((r) => ({ ...r, urn: urnOf(r), parentUrn: r.parentUrn && byUrn.has(r.parentUrn) ? urnOf(byUrn.get(r.parentUrn)!) : r.parentUrn }));
}

/** The engine refuses a program where two resources claim one URN (as URN or alias). */
function assertNoSharedClaims(plan: PlannedResource[]): void {
  const registered = new Set(plan.map((r) => r.urn));
  const seen = new Map<string, string>();
  for (const r of plan) {
    for (const a of new Set(r.aliases)) {
      assert.ok(!registered.has(a) || a === r.urn, `${r.urn} claims ${a}, which is registered`);
      assert.ok(!seen.has(a), `${a} claimed by ${seen.get(a)} and ${r.urn}`);
      seen.set(a, r.urn);
    }
  }
}

describe("InferenceEnvironment", function () {
  this.timeout(120_000);

  for (const stack of ["dev", "prod"]) {
    describe(`adopts the ${stack} stack deployed before it`, () => {
      let plan: PlannedResource[];
      before(async () => {
        // The stack file as the fixtures were captured from (dev's regressor has since declared
        // versions, which replaces its Deployment and Service by design: test/infra/versions.test.ts).
        plan = withEngineUrns(await runOffline(stackWithoutVersions(stack), { preview: false, resolveAliases: true }));
      });

      it("registers or aliases every URN the stack had, so nothing is replaced", () => {
        const registered = new Set(plan.map((r) => withoutContentHash(r.urn)));
        const aliased = new Map(plan.flatMap((r) => r.aliases.map((a) => [withoutContentHash(a), r] as const)));
        const missing = formerUrns(stack)
          .map(withoutContentHash)
          .filter((urn) => !urn.includes(REBUILT) && !registered.has(urn) && !aliased.has(urn));
        assert.deepEqual(missing, []);
      });

      it("moves every resource under the environment, components under aks-inference:index tokens, names and provider types unchanged", () => {
        const env = plan.filter((r) => r.type === "aks-inference:index:InferenceEnvironment");
        assert.deepEqual(
          env.map((r) => r.name),
          [stack],
          "one environment, named after the stack",
        );
        assert.ok(
          plan.every((r) => r === env[0] || r.urn.includes("::aks-inference:index:InferenceEnvironment$")),
          "all under the environment",
        );
        assert.ok(plan.filter((r) => r.type.startsWith("aks-inference:") && !r.custom).every((r) => r.type.startsWith("aks-inference:index:")));
        // The same resources as before: each former URN's own type (components: their new token) and name.
        const built = (type: string) => type === "docker:index/image:Image" || type.startsWith("docker-build:");
        const newToken = (t: string) => t.replace(/^aks-inference:[a-z0-9]+:/, "aks-inference:index:");
        const before = formerUrns(stack)
          .filter((urn) => !urn.includes(REBUILT))
          .map((urn) => newToken(own(withoutContentHash(urn))));
        const after = plan
          .filter((r) => r !== env[0] && !built(r.type))
          .map((r) => own(withoutContentHash(r.urn)))
          .filter((r) => !ADDED.some((added) => added.test(r)));
        assert.deepEqual(after.sort(), before.sort());
      });

      it("claims no URN twice: no alias is another resource's URN or another resource's alias", () => assertNoSharedClaims(plan));
    });
  }

  describe("two environments in one program", () => {
    let plan: PlannedResource[];
    before(async () => {
      const args = rawConfigToArgs(rawStack("dev"));
      const program = () => [
        new InferenceEnvironment("weu", { ...args, projectRoot: REPO_ROOT }),
        new InferenceEnvironment("neu", { ...args, location: "northeurope", projectRoot: REPO_ROOT }),
      ];
      plan = withEngineUrns(await runOfflineProgram("platform", program, { preview: false, resolveAliases: true }));
    });

    it("register distinct URNs, children named after their environment", () => {
      const urns = plan.map((r) => r.urn);
      assert.equal(new Set(urns).size, urns.length, "no URN twice");
      for (const env of ["weu", "neu"]) {
        assert.ok(plan.some((r) => r.type === "azure-native:containerservice:ManagedCluster" && r.name === `${env}-aks`));
      }
      const roots = plan.filter((r) => r.type === "aks-inference:index:InferenceEnvironment");
      assert.deepEqual(
        roots.map((r) => r.name),
        ["weu", "neu"],
      );
      assert.ok(
        plan.every((r) => roots.includes(r) || r.urn.includes("::aks-inference:index:InferenceEnvironment$")),
        "every resource is in an environment",
      );
    });

    it("derive distinct globally unique Azure names from the environment's name", () => {
      const names = (type: string, key: string) => plan.filter((r) => r.type === type).map((r) => r.inputs[key]);
      assert.deepEqual(names("azure-native:containerservice:ManagedCluster", "resourceName"), ["aksinf-weu", "aksinf-neu"]);
      assert.deepEqual(names("azure-native:containerregistry:Registry", "registryName"), ["aksinfweuacr", "aksinfneuacr"]);
      assert.deepEqual(names("azure-native:storage:StorageAccount", "accountName"), ["aksinfweust", "aksinfneust"]);
      assert.deepEqual(names("azure-native:resources:ResourceGroup", "resourceGroupName"), ["rg-aksinf-weu", "rg-aksinf-neu"]);
    });

    it("claim no alias to a stack's former layout (only the stack program's environment adopts one), nor one another's", () => {
      assert.ok(
        plan.every((r) => r.aliases.every((a) => a.includes("aks-inference:index:InferenceEnvironment$"))),
        "aliases stay inside each environment",
      );
      assertNoSharedClaims(plan);
    });
  });

  describe("args", () => {
    it("are the stack config: a shipped stack's config and its args give the same environment", () => {
      for (const stack of ["dev", "prod"]) {
        assert.deepEqual(parseEnvironmentArgs(rawConfigToArgs(rawStack(stack)), stack), stackConfig(stack));
      }
    });

    it("build the environment a stack's validated config builds (the stack program's way, fromStackConfig)", async () => {
      const cfg = stackConfig("prod");
      const fromConfig = await runOffline(cfg, { preview: true });
      const program = () => new InferenceEnvironment("prod", { ...rawConfigToArgs(rawStack("prod")), projectRoot: REPO_ROOT }, { formerStackLayout: true });
      const fromArgs = await runOfflineProgram("prod", program, { preview: true, existing: documentedNetwork(cfg) });
      const byUrn = (plan: PlannedResource[]) => [...plan].sort((a, b) => a.urn.localeCompare(b.urn));
      assert.ok(fromConfig.length > 90, `${fromConfig.length} resources`);
      assert.deepEqual(byUrn(fromConfig), byUrn(fromArgs));
    });

    it("are validated by the stack config's rules, each problem named by its argument", () => {
      const args = rawConfigToArgs(rawStack("dev"));
      const bad = { ...args, services: [{ ...args.services![0], cpuCores: -1 }] };
      assert.throws(
        () => new InferenceEnvironment("bad", bad),
        (err: unknown) => {
          assert.ok(err instanceof EnvironmentArgsError);
          assert.match(err.message, /^InferenceEnvironment 'bad': invalid args:/);
          assert.ok(
            err.problems.some((p) => p.startsWith("services[0].cpuCores: ")),
            err.message,
          );
          assert.ok(
            err.problems.every((p) => !p.includes("aks-inference:")),
            "named as args, not as stack config keys",
          );
          return true;
        },
      );
      // Outputs (a secret from another language arrives as one) are refused by path, not misread.
      const deferred = { ...args, endpoint: pulumi.secret({ customDomain: "ml.contoso.com" }), services: [{ ...args.services![0], name: pulumi.output("late") }] } as unknown as InferenceEnvironmentArgs;
      assert.throws(
        () => new InferenceEnvironment("late", deferred),
        (err: unknown) => {
          assert.ok(err instanceof EnvironmentArgsError);
          assert.deepEqual([...err.problems].sort(), [
            "endpoint: must be a plain value known when the program starts (an output, secret or promise was given)",
            "services[0].name: must be a plain value known when the program starts (an output, secret or promise was given)",
          ]);
          return true;
        },
      );
      assert.throws(() => parseEnvironmentArgs({ ...args, location: "" }, "x"), /\n {2}- location: is required/);
      assert.throws(() => parseEnvironmentArgs({ ...args, egress: "firewall" }, "x"), /\n {2}- endpoint\.internalIp: is required with egress 'firewall'/);
    });
  });
});
