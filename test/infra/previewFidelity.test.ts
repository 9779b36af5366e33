/**
 * What `pulumi preview` shows is what `up` does: the Kubernetes provider is tied to the cluster's
 * identity (not to its kubeconfig), and images are built by BuildKit during the preview, with a
 * registry cache in the stack's ACR.
 */
import * as assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { BUILD_CACHE_REPOSITORY, Images, cacheTag } from "../../components/k8s/images";
import { SECRET, UNKNOWN, runOfflineProgram } from "../../scripts/offline";
import { LABELS } from "../../core/contracts/naming";
import { Plan, REPO_ROOT, input, stackConfig } from "../support/stacks";

const T = {
  cluster: "azure-native:containerservice:ManagedCluster",
  k8sProvider: "pulumi:providers:kubernetes",
  image: "docker-build:index:Image",
  deployment: "kubernetes:apps/v1:Deployment",
};

type Cache = { registry: { ref: string; mode?: string; ignoreError?: boolean } };

describe("preview fidelity", function () {
  this.timeout(120_000);
  const plans: Record<string, Plan> = {};
  before(async () => {
    for (const stack of ["dev", "prod"]) plans[stack] = await Plan.of(stackConfig(stack));
  });

  describe("the Kubernetes provider", () => {
    it("is identified by the AKS cluster's resource ID, so a new kubeconfig of the same cluster replaces no Kubernetes object", () => {
      for (const [stack, plan] of Object.entries(plans)) {
        const provider = plan.one(T.k8sProvider);
        const cluster = plan.one(T.cluster);
        assert.equal(
          input(provider, "clusterIdentifier"),
          `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${String(input(cluster, "resourceGroupName"))}/providers/Microsoft.ContainerService/managedClusters/${String(input(cluster, "resourceName"))}`,
          stack,
        );
        assert.ok(provider.dependencies.includes(cluster.urn), `${stack}: the identifier comes from the cluster resource`);
        // The kubeconfig stays secret; the identifier is not derived from it.
        assert.equal(input(provider, "kubeconfig"), SECRET);
      }
    });

    it("is still registered in the first preview, when neither the cluster ID nor the kubeconfig is known", async () => {
      const preview = await Plan.of(stackConfig("dev"), true);
      const provider = preview.one(T.k8sProvider);
      assert.equal(input(provider, "clusterIdentifier"), UNKNOWN);
      assert.equal(input(provider, "kubeconfig"), UNKNOWN);
    });
  });

  describe("image builds", () => {
    it("build every image with BuildKit, also during preview, and push it to the stack's ACR", () => {
      for (const [stack, plan] of Object.entries(plans)) {
        assert.deepEqual(plan.resources.filter((r) => r.type.startsWith("docker:")).map((r) => r.type), [], `${stack}: no @pulumi/docker image left`);
        const images = plan.all(T.image);
        assert.ok(images.length >= 2, `${stack}: router and environment images`);
        const acr = `aksinf${stack}acr.azurecr.io`;
        for (const image of images) {
          assert.equal(input(image, "buildOnPreview"), true, `${image.name}: a broken Dockerfile fails the PR preview`);
          assert.equal(input(image, "push"), true);
          assert.deepEqual(input(image, "platforms"), ["linux/amd64"], "AKS nodes are amd64, whatever the deployer's machine");
          assert.match(String(input(image, "tags", 0)), new RegExp(`^${acr.replace(/\./g, "\\.")}/aks-inference-(router|env):[0-9a-f]{16}$`));
          assert.deepEqual(input(image, "registries"), [{ address: acr, username: "00000000-0000-0000-0000-000000000000", password: SECRET }]);
        }
      }
    });

    it("read and write a registry cache of every stage in the stack's ACR, one per recipe", () => {
      for (const [stack, plan] of Object.entries(plans)) {
        const refs = plan.all(T.image).map((image) => {
          const from = input(image, "cacheFrom") as Cache[];
          const to = input(image, "cacheTo") as Cache[];
          assert.equal(from.length, 1);
          assert.equal(to.length, 1);
          assert.equal(from[0].registry.ref, to[0].registry.ref, `${image.name}: reads the cache it writes`);
          assert.equal(to[0].registry.mode, "max", "the dependency stages are cached, not only the final one");
          assert.equal(to[0].registry.ignoreError, true, "a failed cache write fails no build");
          assert.ok(to[0].registry.ref.startsWith(`aksinf${stack}acr.azurecr.io/${BUILD_CACHE_REPOSITORY}:`), to[0].registry.ref);
          return to[0].registry.ref;
        });
        // Router, CPU and GPU environments (prod) each have their own cache: none overwrites another's.
        assert.equal(new Set(refs).size, refs.length, `${stack}: ${refs.join(", ")}`);
      }
    });

    it("key the cache by Dockerfile and build arguments, not by content: a source change reuses the last build's layers", () => {
      const a = cacheTag("aks-inference-env", "scoring/Dockerfile", { BASE_IMAGE: "x", DEPENDENCIES: "svc/package.json" });
      assert.equal(cacheTag("aks-inference-env", "scoring/Dockerfile", { DEPENDENCIES: "svc/package.json", BASE_IMAGE: "x" }), a, "argument order does not matter");
      assert.match(a, /^env-[0-9a-f]{16}$/);
      assert.notEqual(cacheTag("aks-inference-env", "scoring/Dockerfile", { BASE_IMAGE: "y", DEPENDENCIES: "svc/package.json" }), a);
      assert.notEqual(cacheTag("aks-inference-env", "scoring/python.Dockerfile", { BASE_IMAGE: "x", DEPENDENCIES: "svc/package.json" }), a);
      assert.match(cacheTag("aks-inference-router", "router/Dockerfile", {}), /^router-[0-9a-f]{16}$/);
    });

    it("run the pushed digest: router and model pods name their image by tag and digest", () => {
      const plan = plans.prod;
      const refs = new Set(plan.all(T.image).map((i) => `${String(input(i, "tags", 0))}@sha256:`));
      for (const d of plan.all(T.deployment).filter((x) => ["router", "model"].includes(String(input(x, "metadata", "labels", LABELS.role))))) {
        const image = String((input(d, "spec", "template", "spec", "containers", 0, "image") as string | undefined) ?? "");
        assert.ok([...refs].some((r) => image.startsWith(r)) && /@sha256:[0-9a-f]{64}$/.test(image), `${d.name}: ${image}`);
      }
    });

    it("run in CI on a builder that can export the registry cache, in every job that previews or deploys", () => {
      type Step = { uses?: string; with?: { command?: string } };
      const dir = path.join(REPO_ROOT, ".github", "workflows");
      const jobs = readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .flatMap((f) => Object.entries((parse(readFileSync(path.join(dir, f), "utf8")) as { jobs: Record<string, { steps?: Step[] }> }).jobs).map(([name, job]) => [`${f}:${name}`, job.steps ?? []] as const));
      const building = jobs.filter(([, steps]) => steps.some((s) => ["preview", "up"].includes(s.with?.command ?? "")));
      assert.ok(building.length >= 2, "the preview and deploy jobs");
      for (const [name, steps] of building) {
        const buildx = steps.findIndex((s) => s.uses?.startsWith("docker/setup-buildx-action@"));
        const pulumi = steps.findIndex((s) => ["preview", "up"].includes(s.with?.command ?? ""));
        assert.ok(buildx >= 0 && buildx < pulumi, `${name}: docker/setup-buildx-action before pulumi ${steps[pulumi].with?.command}`);
      }
    });

    it("keep the registry password secret even when it is handed over in plain text", async () => {
      const plan = await runOfflineProgram("dev", () => new Images("images", { projectRoot: REPO_ROOT, loginServer: "example.azurecr.io", registryPassword: "plain-token" }), { preview: false });
      const router = plan.find((r) => r.type === T.image)!;
      assert.equal(input(router, "registries", 0, "password"), SECRET);
      assert.ok(!JSON.stringify(plan).includes("plain-token"));
    });
  });
});
