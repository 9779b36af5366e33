/**
 * Every rule of the policy pack as the user reads it: the exact message for a minimal bad set of
 * plain resources, nothing for the nearest good set (boundaries, unknown values of a first
 * preview, missing against empty props, each operand of a condition on its own), each rule's
 * enforcement level and description. Plain literals only: no Pulumi program runs here.
 */
import * as assert from "node:assert/strict";
import { AZURE_RULES, roleAssignmentNameFor, type AzureRule } from "../../core/azure/rules";
import { GPU_POOL_LABEL, GPU_TAINT_STRING, LABELS, MODEL_COUNT_ANNOTATION, ROUTER_ENV, ROUTER_HOST_ANNOTATION, SETTINGS_ANNOTATION, TAGS, WORKLOAD_IDENTITY } from "../../core/contracts/naming";
import type { ServiceRoutingSettings } from "../../core/contracts/routingSettings";
import { RESOURCE_TYPES as T } from "../../policies/readers";
import { evaluate, registryHost, rules, type Res, type Rule } from "../../policies/rules";
import { settings as routingSettings } from "../support/upstream";

const UNKNOWN = "[unknown]";

const rule = (name: string): Rule => {
  const r = rules.find((x) => x.name === name);
  if (!r) throw new Error(`no rule ${name}`);
  return r;
};
const check = (name: string, r: Res): string[] => {
  const f = rule(name).resource;
  if (!f) throw new Error(`${name} is not a resource rule`);
  return f(r);
};
const stackOf = (name: string, all: Res[]) => {
  const f = rule(name).stack;
  if (!f) throw new Error(`${name} is not a stack rule`);
  return f(all);
};
const messages = (name: string, all: Res[]): string[] => stackOf(name, all).map((v) => v.message);
const annotationsOfRes = (r: Res) => (r.props.metadata as { annotations: Record<string, string> }).annotations;
/** ` (rule <id>; Microsoft: "<title>" <url>)`, the tail of every Azure rule's message. */
const tail = (r: AzureRule) => ` (rule ${r.id}; Microsoft: "${r.doc.title}" ${r.doc.url})`;

// ---- resources, shaped as test/policies/rules.test.ts and identity.test.ts build them ----
const cluster = (props: Record<string, unknown> = {}, name = "aks"): Res => ({ type: T.cluster, name, urn: "urn:cluster", props });
const purposeCluster = (purpose: string, extra: Record<string, unknown> = {}): Res =>
  cluster({ location: "westeurope", resourceName: "aks-prod", tags: { [TAGS.purpose]: purpose }, ...extra });
const udrCluster = (extra: Record<string, unknown> = {}): Res => cluster({ networkProfile: { outboundType: "userDefinedRouting" }, ...extra });
const modelDeployment = (spec: Record<string, unknown>, annotations: Record<string, string> = {}, name = "model-a"): Res => ({
  type: T.deployment,
  name: "svc-a-deployment",
  urn: "urn:model",
  props: { metadata: { name, labels: { [LABELS.role]: "model", [LABELS.service]: "a" }, annotations }, spec: { template: { spec } } },
});
const routerDeployment = (env: Record<string, string>, podAnnotations?: Record<string, string>): Res => ({
  type: T.deployment,
  name: "router-deployment",
  urn: "urn:router",
  props: {
    metadata: { name: "aks-inference-router", labels: { [LABELS.role]: "router" } },
    spec: { template: { metadata: podAnnotations ? { annotations: podAnnotations } : {}, spec: { containers: [{ env: Object.entries(env).map(([name, value]) => ({ name, value })) }] } } },
  },
});
const modelService = (authMode: ServiceRoutingSettings["authMode"], service = "a", role = "model"): Res => ({
  type: T.service,
  name: `svc-${service}-service`,
  urn: `urn:svc-${service}`,
  props: { metadata: { labels: { [LABELS.role]: role, [LABELS.service]: service }, annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(routingSettings(service, { authMode })) } } },
});
const pool = (label: string | undefined, tainted: boolean, vmSize = "Standard_NC4as_T4_v3", type = T.pool): Res => ({
  type,
  name: `pool-${label}`,
  props: { vmSize, nodeTaints: tainted ? [GPU_TAINT_STRING] : [], nodeLabels: label === undefined ? {} : { [GPU_POOL_LABEL]: label } },
});
const appRules = (fqdns: string[], tags: string[] = [], ruleType = "ApplicationRule", type = T.ruleGroup): Res => ({
  type,
  name: "egress-rules",
  props: { ruleCollections: [{ ruleCollectionType: "FirewallPolicyFilterRuleCollection", rules: [{ ruleType, name: "allow", fqdnTags: tags, targetFqdns: fqdns }] }] },
});

describe("policy pack, exactly as the user reads it", () => {
  describe("the pack itself", () => {
    const LEVELS: Record<string, Rule["enforcementLevel"]> = {
      "azure-firewall-in-its-vnet-resource-group": "mandatory",
      "udr-subnet-routes-to-firewall": "mandatory",
      "internal-load-balancer-behind-firewall": "mandatory",
      "no-network-rule-bypassing-fqdn-filtering": "mandatory",
      "api-server-by-fqdn-behind-firewall": "mandatory",
      "network-contributor-on-resources-not-groups": "mandatory",
      "network-contributor-on-public-ip-group": "mandatory",
      "role-assignment-name-deterministic": "mandatory",
      "pod-cidr-only-with-kubenet-or-overlay": "mandatory",
      "vnet-dns-points-at-firewall-dns-proxy": "mandatory",
      "firewall-zones-match-cluster": "advisory",
      "no-hpa-on-model-deployments": "mandatory",
      "version-split-sums-to-100": "mandatory",
      "acr-admin-user-disabled": "mandatory",
      "storage-no-public-blob-access": "mandatory",
      "max-1000-models-per-deployment": "mandatory",
      "payload-limit-at-most-100mb": "mandatory",
      "cni-firewall-covers-required-hosts": "mandatory",
      "auth-outside-devtest": "mandatory",
      "tls-outside-devtest": "mandatory",
      "gpu-services-on-tainted-gpu-pools": "mandatory",
      "token-issuer-region-matches-cluster": "advisory",
      "defender-outside-devtest": "advisory",
      "devtest-without-router-self-scaling": "advisory",
      "storage-no-shared-key": "mandatory",
      "pods-reference-only-what-the-stack-creates": "mandatory",
      "model-pods-reachable-only-from-the-router": "mandatory",
      "workload-identity-federated": "mandatory",
      "images-pulled-through-the-firewall": "mandatory",
      "gpu-services-fit-their-pool-vm-size": "advisory",
    };
    /** What the description must tell a user, besides being a sentence. */
    const NEEDS: Record<string, string> = {
      "no-hpa-on-model-deployments": "HorizontalPodAutoscaler",
      "version-split-sums-to-100": "summing to 100",
      "acr-admin-user-disabled": "admin password",
      "storage-no-public-blob-access": "never publicly readable",
      "max-1000-models-per-deployment": "at most 1,000 models",
      "payload-limit-at-most-100mb": "over 100 MB",
      "cni-firewall-covers-required-hosts": "Azure CNI",
      "auth-outside-devtest": "key or token unless the cluster is DevTest",
      "tls-outside-devtest": "TLS unless the cluster is DevTest",
      "gpu-services-on-tainted-gpu-pools": "GPU taint",
      "token-issuer-region-matches-cluster": "cluster's region",
      "defender-outside-devtest": "Defender for Containers",
      "devtest-without-router-self-scaling": "without self-scaling",
      "storage-no-shared-key": "Shared Key",
      "pods-reference-only-what-the-stack-creates": "Secret, SecretProviderClass and ServiceAccount",
      "model-pods-reachable-only-from-the-router": "NetworkPolicy",
      "workload-identity-federated": "federated",
      "images-pulled-through-the-firewall": "application rules allow",
      "gpu-services-fit-their-pool-vm-size": "VM size",
    };

    it("holds exactly these rules, in this order, each with its enforcement level", () => {
      assert.deepEqual(
        rules.map((r) => [r.name, r.enforcementLevel]),
        Object.entries(LEVELS),
      );
      for (const r of rules) assert.equal(Boolean(r.resource) !== Boolean(r.stack), true, `${r.name}: a resource or a stack check, one of them`);
    });

    it("describes each rule in a sentence; Azure's rules as their summary and the Microsoft document's title", () => {
      const azure = new Map<string, AzureRule>(Object.values(AZURE_RULES).map((r) => [r.id, r]));
      for (const r of rules) {
        const a = azure.get(r.name);
        if (a) {
          assert.equal(r.description, `${a.summary} (Microsoft: "${a.doc.title}")`, r.name);
          continue;
        }
        assert.match(r.description, /^[A-Z][^\n]{20,}\.$/, r.name);
        assert.ok(r.description.includes(NEEDS[r.name]), `${r.name}: ${r.description}`);
      }
    });

    it("evaluate() reports every rule's violations with the resource's URN, resource rules per resource, in the pack's order", () => {
      const registry: Res = { type: T.registry, name: "acr", urn: "urn:acr", props: { adminUserEnabled: true } };
      const account: Res = { type: T.account, name: "st", urn: "urn:st", props: { allowBlobPublicAccess: false, allowSharedKeyAccess: false } };
      const hpa: Res = { type: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", name: "hpa", urn: "urn:hpa", props: { spec: { scaleTargetRef: { kind: "Deployment", name: "model-x" } } } };
      const found = evaluate([registry, account, hpa]).map((v) => [v.rule.name, v.violation.urn]);
      assert.deepEqual(found, [
        ["no-hpa-on-model-deployments", "urn:hpa"],
        ["acr-admin-user-disabled", "urn:acr"],
      ]);
      assert.deepEqual(evaluate([]), []);
      assert.deepEqual(evaluate([cluster({ tags: null, networkProfile: null, securityProfile: null, agentPoolProfiles: null })]), [], "null props read as absent");
      const two = evaluate([{ ...registry, urn: "urn:1" }, { ...registry, urn: "urn:2" }]).map((v) => v.violation);
      assert.deepEqual(two, [
        { message: "Container registry 'acr' has the admin user enabled. Set adminUserEnabled: false; the cluster pulls with its kubelet identity (AcrPull).", urn: "urn:1" },
        { message: "Container registry 'acr' has the admin user enabled. Set adminUserEnabled: false; the cluster pulls with its kubelet identity (AcrPull).", urn: "urn:2" },
      ]);
    });
  });

  describe("registryHost", () => {
    it("is the first path segment when it names a host, Docker Hub otherwise", () => {
      assert.equal(registryHost("localhost:5000/x"), "localhost:5000");
      assert.equal(registryHost("localhost/x"), "localhost");
      assert.equal(registryHost("mcr.microsoft.com/a/b:1"), "mcr.microsoft.com");
      assert.equal(registryHost("ProdAcr.AzureCR.io/model:1"), "prodacr.azurecr.io");
      assert.equal(registryHost("registry:5000/x"), "registry:5000");
      assert.equal(registryHost("nginx"), "docker.io");
      assert.equal(registryHost("nginx:1.27"), "docker.io", "a tag is not a port: no '/'");
      assert.equal(registryHost("nginx.io"), "docker.io", "a dot without a '/' is part of the name");
      assert.equal(registryHost("library/nginx"), "docker.io");
      assert.equal(registryHost("bitnami/redis:7"), "docker.io");
    });
  });

  describe("Azure's rules", () => {
    const subnetId = (group: string) => `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${group}/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/AzureFirewallSubnet`;
    const firewall = (props: Record<string, unknown>, type = T.firewall): Res => ({ type, name: "fw", urn: "urn:fw", props });
    const firewallIn = (group: unknown, id: unknown) => firewall({ resourceGroupName: group, ipConfigurations: [{ subnet: { id } }] });

    it("azure-firewall-in-its-vnet-resource-group: a firewall outside its subnet's group, once both are known", () => {
      const name = AZURE_RULES.firewallGroup.id;
      assert.deepEqual(check(name, firewallIn("rg-hub", subnetId("rg-net"))), [
        "Azure Firewall 'fw': is in resource group 'rg-hub' but its subnet's VNet 'vnet-hub' is in 'rg-net'; Azure refuses this (AzureFirewallReferencesSubnetInDifferentResourceGroup). Create the firewall in 'rg-net', or use the hub's firewall (firewall.policyId, firewall.privateIp, firewall.publicIp)" +
          tail(AZURE_RULES.firewallGroup),
      ]);
      assert.deepEqual(check(name, firewallIn("rg-net", subnetId("rg-net"))), []);
      assert.deepEqual(check(name, firewallIn("RG-NET", subnetId("rg-net"))), [], "resource group names are case-insensitive");
      assert.deepEqual(check(name, firewallIn("rg-hub", UNKNOWN)), [], "a subnet created in the same run has no ID yet");
      assert.deepEqual(check(name, firewallIn("rg-hub", undefined)), []);
      assert.deepEqual(check(name, firewallIn("rg-hub", "")), []);
      assert.deepEqual(check(name, firewallIn(UNKNOWN, subnetId("rg-net"))), []);
      assert.deepEqual(check(name, firewallIn(undefined, subnetId("rg-net"))), []);
      assert.deepEqual(check(name, firewallIn("rg-hub", "AzureFirewallSubnet")), [], "not a resource ID: nothing to compare, and no exception");
      assert.deepEqual(check(name, firewall({ resourceGroupName: "rg-hub", ipConfigurations: [{}, { subnet: { id: subnetId("rg-net") } }] })), [], "the subnet of the first IP configuration");
      assert.deepEqual(check(name, firewall({ resourceGroupName: "rg-hub" })), []);
      assert.deepEqual(check(name, firewall({ resourceGroupName: "rg-hub", ipConfigurations: [{ subnet: { id: subnetId("rg-net") } }] }, T.vnet)), [], "firewalls only");
    });

    describe("udr-subnet-routes-to-firewall", () => {
      const name = AZURE_RULES.udrRoute.id;
      const subnet = (subnetName: string, routeTable?: unknown): Res => ({ type: T.subnet, name: subnetName, urn: `urn:${subnetName}`, props: { subnetName, ...(routeTable === undefined ? {} : { routeTable }) } });
      const route = (addressPrefix: string, nextHopType: string): Res => ({ type: T.route, name: "default", props: { addressPrefix, nextHopType } });
      const defaultRoute = route("0.0.0.0/0", "VirtualAppliance");

      it("refuses a node subnet without its route table, and a cluster without the default route, each at its resource", () => {
        assert.deepEqual(
          stackOf(name, [udrCluster(), subnet("nodes")]).map((v) => [v.urn, v.message]),
          [
            ["urn:nodes", "Subnet 'nodes': has no route table while the cluster uses outboundType userDefinedRouting; associate the route table holding 0.0.0.0/0 → the firewall" + tail(AZURE_RULES.udrRoute)],
            ["urn:cluster", "AKS cluster 'aks': uses outboundType userDefinedRouting but no route sends 0.0.0.0/0 to a VirtualAppliance (the firewall): nodes cannot bootstrap" + tail(AZURE_RULES.udrRoute)],
          ],
        );
      });

      it("accepts the route table and the default route; each half of the default route on its own is not one", () => {
        const table = { id: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/routeTables/rt" };
        assert.deepEqual(messages(name, [udrCluster(), subnet("nodes", table), defaultRoute]), []);
        assert.deepEqual(messages(name, [udrCluster(), subnet("nodes", {}), defaultRoute]).length, 1, "a route table without an ID");
        assert.equal(messages(name, [udrCluster(), subnet("nodes", table), route("0.0.0.0/0", "Internet")]).length, 1);
        assert.equal(messages(name, [udrCluster(), subnet("nodes", table), route("10.0.0.0/8", "VirtualAppliance")]).length, 1);
        assert.equal(messages(name, [udrCluster(), subnet("nodes", table), { ...defaultRoute, type: T.subnet }]).length, 2, "a route is a Route resource (and a Subnet without a table is one more)");
      });

      it("concerns only a user-defined-routing cluster with subnets of its own, the AzureFirewallSubnet excepted", () => {
        assert.deepEqual(messages(name, [cluster({ networkProfile: { outboundType: "loadBalancer" } }), subnet("nodes")]), []);
        assert.deepEqual(messages(name, [cluster({}), subnet("nodes")]), []);
        assert.deepEqual(messages(name, [{ ...udrCluster(), type: T.pool }, subnet("nodes")]), [], "only a ManagedCluster");
        assert.deepEqual(messages(name, [udrCluster()]), [], "an existing subnet is checked by the preview's lookups");
        assert.deepEqual(messages(name, [udrCluster(), subnet("AzureFirewallSubnet")]), [], "the firewall's own subnet routes to the internet");
        assert.deepEqual(messages(name, [subnet("nodes")]), []);
      });
    });

    describe("internal-load-balancer-behind-firewall", () => {
      const name = AZURE_RULES.internalLb.id;
      const INTERNAL = "service.beta.kubernetes.io/azure-load-balancer-internal";
      const IPV4 = "service.beta.kubernetes.io/azure-load-balancer-ipv4";
      const lb = (annotations: Record<string, string>, ports: { port?: number }[] | null = [{ port: 443 }], type = "LoadBalancer", resType = T.service): Res => ({
        type: resType,
        name: "router-service",
        urn: "urn:router-service",
        props: { metadata: { annotations }, spec: { type, ...(ports ? { ports } : {}) } },
      });
      const internal = (ports: { port?: number }[] | null = [{ port: 443 }]) => lb({ [INTERNAL]: "true", [IPV4]: "10.240.0.200" }, ports);
      const dnat = (rules: Record<string, unknown>[], ruleCollectionType = "FirewallPolicyNatRuleCollection"): Res => ({ type: T.ruleGroup, name: "rules", props: { ruleCollections: [{ ruleCollectionType, rules }] } });
      const to443 = { name: "https", destinationAddresses: ["20.1.2.3"], destinationPorts: ["443"], translatedAddress: "10.240.0.200", translatedPort: "443" };

      it("refuses a public LoadBalancer, an internal one without a fixed IP, and a port no DNAT rule reaches", () => {
        assert.deepEqual(stackOf(name, [udrCluster(), lb({})]), [
          {
            urn: "urn:router-service",
            message:
              `Service 'router-service': is a public LoadBalancer while 0.0.0.0/0 goes to the firewall: replies leave through the firewall and are dropped (asymmetric routing). Annotate it ${INTERNAL}: "true" and DNAT the firewall's public IP to it` +
              tail(AZURE_RULES.internalLb),
          },
        ]);
        assert.deepEqual(messages(name, [udrCluster(), lb({ [INTERNAL]: "true" })]), [
          `Service 'router-service': is internal without a fixed IP (${IPV4}), so the firewall's DNAT rule has no known target; set endpoint.internalIp` + tail(AZURE_RULES.internalLb),
        ]);
        assert.deepEqual(messages(name, [udrCluster(), internal([{ port: 443 }, { port: 80 }]), dnat([to443])]), [
          "Service 'router-service': no firewall DNAT rule forwards port 80 to its internal IP 10.240.0.200: it is unreachable from outside" + tail(AZURE_RULES.internalLb),
        ]);
      });

      it("reads the DNAT rules of NAT collections only, with their destination ports when no port is translated", () => {
        assert.deepEqual(messages(name, [udrCluster(), internal(), dnat([to443])]), []);
        assert.equal(messages(name, [udrCluster(), internal(), dnat([to443], "FirewallPolicyFilterRuleCollection")]).length, 1);
        assert.equal(messages(name, [udrCluster(), internal(), { ...dnat([to443]), type: T.firewallPolicy }]).length, 1, "rule collection groups only");
        const { translatedPort: _p, ...samePort } = to443;
        assert.deepEqual(messages(name, [udrCluster(), internal(), dnat([samePort])]), []);
        assert.equal(messages(name, [udrCluster(), internal(), dnat([{ ...samePort, destinationPorts: ["8443"] }])]).length, 1);
        assert.equal(messages(name, [udrCluster(), internal(), dnat([{ ...to443, translatedAddress: "10.240.0.201" }])]).length, 1);
        assert.deepEqual(messages(name, [udrCluster(), internal(), dnat([{ ...samePort, destinationPorts: [443, "443"] }])]), [], "non-string ports are ignored, strings kept");
        assert.equal(messages(name, [udrCluster(), internal(), dnat([{ ...samePort, destinationPorts: [443] }])]).length, 1);
        assert.equal(messages(name, [udrCluster(), internal(), dnat([{ ...samePort, destinationPorts: "443" }])]).length, 1, "not a list");
        assert.equal(messages(name, [udrCluster(), internal(), { type: T.ruleGroup, name: "empty", props: { ruleCollections: [{ ruleCollectionType: "FirewallPolicyNatRuleCollection" }] } }, { type: T.ruleGroup, name: "none", props: {} }]).length, 1);
      });

      it("checks LoadBalancer Services behind a user-defined-routing cluster only", () => {
        assert.deepEqual(messages(name, [cluster({}), lb({})]), []);
        assert.deepEqual(messages(name, [lb({})]), []);
        assert.deepEqual(messages(name, [udrCluster(), lb({}, [{ port: 443 }], "ClusterIP")]), []);
        assert.deepEqual(messages(name, [udrCluster(), lb({}, [{ port: 443 }], "LoadBalancer", T.deployment)]), [], "Services only");
        assert.deepEqual(messages(name, [udrCluster(), internal(null)]), [], "no ports, nothing to forward");
        const bare: Res = { type: T.service, name: "router-service", props: { spec: { type: "LoadBalancer", ports: [{ port: 443 }] } } };
        assert.equal(messages(name, [udrCluster(), bare]).length, 1, "no annotations: a public LoadBalancer");
      });
    });

    describe("no-network-rule-bypassing-fqdn-filtering", () => {
      const name = AZURE_RULES.noBroadNetworkRules.id;
      const group = (rules: Record<string, unknown>[], type = T.ruleGroup): Res => ({ type, name: "egress-rules", props: { ruleCollections: [{ ruleCollectionType: "FirewallPolicyFilterRuleCollection", rules }] } });
      const broad = { ruleType: "NetworkRule", name: "web", ipProtocols: ["TCP"], destinationAddresses: ["AzureCloud.westeurope"], destinationPorts: ["443"] };

      it("refuses a network rule to a broad destination on a web port, naming the group, the rule, ports and destinations", () => {
        assert.deepEqual(check(name, group([broad])), [
          "Firewall rule collection group 'egress-rules': network rule 'web' allows TCP 443 to AzureCloud.westeurope: network rules match before application rules, so every host there bypasses the FQDN allow-list. Remove it; reach the API server through the *.hcp.<region>.azmk8s.io application rule" +
            tail(AZURE_RULES.noBroadNetworkRules),
        ]);
        const viaFqdn = check(name, group([{ ...broad, name: undefined, destinationAddresses: ["10.0.0.1"], destinationFqdns: ["*"], destinationPorts: ["80", "443"] }]));
        assert.equal(viaFqdn.length, 1);
        assert.ok(viaFqdn[0].startsWith("Firewall rule collection group 'egress-rules': network rule '' allows TCP 80,443 to 10.0.0.1, *: "), viaFqdn[0]);
      });

      it("leaves application rules, narrow network rules and other resources alone", () => {
        assert.deepEqual(check(name, group([{ ...broad, ruleType: "ApplicationRule" }])), []);
        assert.deepEqual(check(name, group([{ ...broad, ipProtocols: ["UDP"] }])), []);
        assert.deepEqual(check(name, group([{ ...broad, ipProtocols: undefined }])), []);
        assert.deepEqual(check(name, group([{ ...broad, destinationPorts: ["123"] }])), []);
        assert.deepEqual(check(name, group([{ ...broad, destinationAddresses: ["10.0.0.0/8"] }])), []);
        assert.deepEqual(check(name, group([broad], T.firewallPolicy)), []);
        assert.deepEqual(check(name, { type: T.ruleGroup, name: "g", props: { ruleCollections: [{}] } }), []);
        assert.deepEqual(check(name, { type: T.ruleGroup, name: "g", props: {} }), []);
      });
    });

    it("api-server-by-fqdn-behind-firewall: router pods without the FQDN annotation behind a firewall", () => {
      const name = AZURE_RULES.apiServerFqdn.id;
      const FQDN = "kubernetes.azure.com/set-kube-service-host-fqdn";
      assert.deepEqual(stackOf(name, [udrCluster(), routerDeployment({})]), [
        {
          urn: "urn:router",
          message: `Deployment 'router-deployment': calls the API server behind an application-rule firewall but its pods lack ${FQDN}: "true", so they would reach it by cluster IP, which no FQDN rule allows` + tail(AZURE_RULES.apiServerFqdn),
        },
      ]);
      assert.equal(messages(name, [udrCluster(), routerDeployment({}, { [FQDN]: "false" })]).length, 1);
      assert.deepEqual(messages(name, [udrCluster(), routerDeployment({}, { [FQDN]: "true" })]), []);
      assert.deepEqual(messages(name, [cluster({}), routerDeployment({})]), [], "without a firewall the cluster IP works");
      assert.deepEqual(messages(name, [udrCluster(), modelDeployment({})]), [], "model pods do not call the API server");
    });

    describe("network-contributor-on-resources-not-groups and role-assignment-name-deterministic", () => {
      const NETWORK_CONTRIBUTOR = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7";
      const READER = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7";
      const role = (props: Record<string, unknown>, type = T.roleAssignment): Res => ({ type, name: "net", urn: "urn:net", props });

      it("refuses Network Contributor on a resource group, once the scope is known", () => {
        const name = AZURE_RULES.leastPrivilege.id;
        const one = (r: Res) => messages(name, [r]);
        assert.deepEqual(one(role({ roleDefinitionId: NETWORK_CONTRIBUTOR, scope: "/subscriptions/s/resourceGroups/rg" })), [
          "Role assignment 'net': grants Network Contributor on '/subscriptions/s/resourceGroups/rg', a whole resource group, subscription or management group (which may hold a firewall policy or other teams' networks); scope it to the subnet and route table the cluster manages (a group only when it is the stack's own and holds the public IP the load balancer binds)" +
            tail(AZURE_RULES.leastPrivilege),
        ]);
        assert.deepEqual(one(role({ roleDefinitionId: NETWORK_CONTRIBUTOR, scope: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/n" })), []);
        assert.deepEqual(one(role({ roleDefinitionId: READER, scope: "/subscriptions/s/resourceGroups/rg" })), [], "other roles");
        assert.deepEqual(one(role({ scope: "/subscriptions/s/resourceGroups/rg" })), [], "no role definition");
        assert.deepEqual(one(role({ roleDefinitionId: NETWORK_CONTRIBUTOR, scope: UNKNOWN })), []);
        assert.deepEqual(one(role({ roleDefinitionId: NETWORK_CONTRIBUTOR })), []);
        assert.deepEqual(one(role({ roleDefinitionId: NETWORK_CONTRIBUTOR, scope: "/subscriptions/s/resourceGroups/rg" }, T.subnet)), []);
        assert.equal(stackOf(name, [role({ roleDefinitionId: NETWORK_CONTRIBUTOR, scope: "/subscriptions/s/resourceGroups/rg" })])[0].urn, "urn:net");
      });

      describe("the public IP's resource group", () => {
        const group = (name: string): Res => ({ type: T.resourceGroup, name: "rg", urn: "urn:rg", props: { resourceGroupName: name } });
        const ip = (resourceGroupName: string): Res => ({ type: T.publicIp, name: "endpoint", urn: "urn:ip", props: { resourceGroupName, publicIpAddressName: "endpoint" } });
        const lb = (annotations: Record<string, string>, type = "LoadBalancer"): Res => ({ type: T.service, name: "router-service", urn: "urn:svc", props: { metadata: { annotations }, spec: { type } } });
        const binds = (rg: string) => lb({ "service.beta.kubernetes.io/azure-pip-name": "endpoint", "service.beta.kubernetes.io/azure-load-balancer-resource-group": rg });
        const grant = (scope: string) => role({ roleDefinitionId: NETWORK_CONTRIBUTOR, scope });
        const GROUP = "/subscriptions/s/resourceGroups/rg-aksinf-dev";

        it("allows Network Contributor on the stack's own group that holds the public IP the load balancer binds, and no other group", () => {
          const name = AZURE_RULES.leastPrivilege.id;
          assert.deepEqual(messages(name, [group("rg-aksinf-dev"), ip("rg-aksinf-dev"), binds("rg-aksinf-dev"), grant(GROUP)]), []);
          assert.deepEqual(messages(name, [group("RG-AKSINF-DEV"), ip("rg-aksinf-dev"), binds("rg-aksinf-dev"), grant(GROUP.toUpperCase())]), [], "names compared as Azure does, case-insensitively");
          assert.equal(messages(name, [ip("rg-aksinf-dev"), binds("rg-aksinf-dev"), grant(GROUP)]).length, 1, "a group the stack does not own may hold other teams' networks");
          assert.equal(messages(name, [group("rg-aksinf-dev"), binds("rg-aksinf-dev"), grant(GROUP)]).length, 1, "the group holds no public IP of the stack");
          assert.equal(messages(name, [group("rg-aksinf-dev"), ip("rg-aksinf-dev"), grant(GROUP)]).length, 1, "no Service binds it");
          assert.equal(messages(name, [group("rg-aksinf-dev"), ip("rg-aksinf-dev"), binds("rg-aksinf-dev"), grant("/subscriptions/s")]).length, 1, "never the subscription");
          assert.equal(messages(name, [group("rg-aksinf-dev"), ip("rg-aksinf-dev"), binds("rg-aksinf-dev"), grant("/subscriptions/s/resourceGroups/rg-other")]).length, 1);
        });

        it("requires Network Contributor on the group of a public IP a load balancer binds by name", () => {
          const name = AZURE_RULES.publicIpGroupRole.id;
          const ipGrant = grant(`${GROUP}/providers/Microsoft.Network/publicIPAddresses/endpoint`);
          assert.deepEqual(stackOf(name, [binds("rg-aksinf-dev"), ipGrant]), [
            {
              urn: "urn:svc",
              message:
                `Service 'router-service': binds public IP 'endpoint' in resource group 'rg-aksinf-dev', but the cluster identity has Network Contributor on no scope of that group (${GROUP}/providers/Microsoft.Network/publicIPAddresses/endpoint): the cloud provider cannot list the group's public IPs to find it and the Service stays Pending; grant Network Contributor on resource group 'rg-aksinf-dev'` +
                tail(AZURE_RULES.publicIpGroupRole),
            },
          ]);
          assert.match(messages(name, [binds("rg-aksinf-dev")])[0], /on no scope of that group \(none\)/);
          assert.deepEqual(messages(name, [binds("rg-aksinf-dev"), grant(GROUP)]), []);
          assert.deepEqual(messages(name, [binds("RG-AKSINF-DEV"), grant(GROUP)]), [], "case-insensitive");
          assert.deepEqual(messages(name, [binds("rg-aksinf-dev"), ipGrant, grant(UNKNOWN)]), [], "checked once every grant's scope is known");
          assert.deepEqual(messages(name, [lb({ "service.beta.kubernetes.io/azure-pip-name": "endpoint" }), ipGrant]), [], "no group annotation: AKS's node resource group, its own");
          assert.deepEqual(messages(name, [binds("rg-aksinf-dev"), ipGrant].map((r) => (r.type === T.service ? lb(annotationsOfRes(r), "ClusterIP") : r))), [], "only LoadBalancer Services bind an IP");
          assert.deepEqual(messages(name, [lb({ "service.beta.kubernetes.io/azure-pip-name": UNKNOWN, "service.beta.kubernetes.io/azure-load-balancer-resource-group": "rg" }), ipGrant]), []);
        });
      });

      it("requires the UUID v5 name of scope, role and principal, checked once all four are known", () => {
        const name = AZURE_RULES.deterministicRoleName.id;
        const facts = { scope: "/subscriptions/s/resourceGroups/rg", roleDefinitionId: READER, principalId: "p-1" };
        const expected = roleAssignmentNameFor(facts.scope, facts.roleDefinitionId, facts.principalId);
        assert.deepEqual(check(name, role(facts)), [
          `Role assignment 'net': has no roleAssignmentName, so Azure picks a random one and a re-created stack fails with RoleAssignmentExists; set it to '${roleAssignmentNameFor("", "", "")}'` + tail(AZURE_RULES.deterministicRoleName),
        ]);
        assert.deepEqual(check(name, role({ ...facts, roleAssignmentName: expected })), []);
        assert.deepEqual(check(name, role({ ...facts, roleAssignmentName: "00000000-0000-0000-0000-000000000001" })), [
          `Role assignment 'net': name '00000000-0000-0000-0000-000000000001' is not the UUID v5 of its scope, role and principal ('${expected}')` + tail(AZURE_RULES.deterministicRoleName),
        ]);
        for (const key of ["scope", "roleDefinitionId", "principalId", "roleAssignmentName"] as const) {
          assert.deepEqual(check(name, role({ ...facts, roleAssignmentName: "00000000-0000-0000-0000-000000000001", [key]: UNKNOWN })), [], `${key} unknown`);
          assert.deepEqual(check(name, role({ ...facts, roleAssignmentName: "00000000-0000-0000-0000-000000000001", [key]: "" })), [], `${key} empty`);
        }
        assert.deepEqual(check(name, role({ ...facts, roleAssignmentName: "x" }, T.subnet)), []);
      });
    });

    it("pod-cidr-only-with-kubenet-or-overlay: a pod CIDR with classic Azure CNI", () => {
      const name = AZURE_RULES.podCidr.id;
      const aks = (networkProfile: Record<string, unknown>) => cluster({ networkProfile });
      assert.deepEqual(check(name, aks({ networkPlugin: "azure", podCidr: "10.244.0.0/16" })), [
        "AKS cluster 'aks': sends podCidr '10.244.0.0/16' with Azure CNI (pods take subnet IPs); Azure refuses it. Use Azure CNI Overlay (networkPluginMode: overlay) or send no podCidr (note: the azure-native SDK fills in 10.244.0.0/16 when it is omitted)" +
          tail(AZURE_RULES.podCidr),
      ]);
      assert.deepEqual(check(name, aks({ networkPlugin: "azure", networkPluginMode: "overlay", podCidr: "10.244.0.0/16" })), []);
      assert.deepEqual(check(name, aks({ networkPlugin: "kubenet", podCidr: "10.244.0.0/16" })), []);
      assert.deepEqual(check(name, aks({ podCidr: "10.244.0.0/16" })), [], "no plugin is kubenet, AKS's default");
      assert.deepEqual(check(name, aks({ networkPlugin: "azure" })), []);
      assert.deepEqual(check(name, { ...aks({ networkPlugin: "azure", podCidr: "10.244.0.0/16" }), type: T.pool }), []);
    });

    describe("vnet-dns-points-at-firewall-dns-proxy", () => {
      const name = AZURE_RULES.dnsProxy.id;
      const policy = (enableProxy: unknown, type = T.firewallPolicy): Res => ({ type, name: "policy", props: { dnsSettings: { enableProxy } } });
      const fwSubnet = (addressPrefix: unknown, subnetName = "AzureFirewallSubnet"): Res => ({ type: T.subnet, name: "fw-subnet", props: { subnetName, addressPrefix } });
      const vnet = (dnsServers?: unknown, type = T.vnet): Res => ({ type, name: "vnet", urn: "urn:vnet", props: dnsServers === undefined ? {} : { dhcpOptions: { dnsServers } } });

      it("refuses a VNet whose DNS servers are not the firewall's DNS proxy (its subnet's 4th address)", () => {
        const fix = "; nodes and the firewall may resolve FQDNs differently. Set the VNet's DNS servers to 10.225.0.4" + tail(AZURE_RULES.dnsProxy);
        assert.deepEqual(stackOf(name, [policy(true), fwSubnet("10.225.0.0/26"), vnet()]), [{ urn: "urn:vnet", message: "Virtual network 'vnet': uses DNS servers Azure-provided, not the firewall's DNS proxy 10.225.0.4" + fix }]);
        assert.deepEqual(messages(name, [policy(true), fwSubnet("10.225.0.0/26"), vnet(["168.63.129.16", 53])]), ["Virtual network 'vnet': uses DNS servers 168.63.129.16, not the firewall's DNS proxy 10.225.0.4" + fix]);
        assert.deepEqual(messages(name, [policy(true), fwSubnet("10.225.0.0/26"), vnet(["10.225.0.4"])]), []);
      });

      it("only when the proxy is on and the firewall subnet's range is known", () => {
        const firing = (all: Res[]) => messages(name, [...all, vnet()]).length;
        assert.equal(firing([policy(true), fwSubnet("10.225.0.0/26")]), 1);
        assert.equal(firing([policy(false), fwSubnet("10.225.0.0/26")]), 0);
        assert.equal(firing([policy("true"), fwSubnet("10.225.0.0/26")]), 0);
        assert.equal(firing([policy(true, T.firewall), fwSubnet("10.225.0.0/26")]), 0);
        assert.equal(firing([fwSubnet("10.225.0.0/26")]), 0);
        assert.equal(firing([policy(true)]), 0);
        assert.equal(firing([policy(true), fwSubnet(UNKNOWN)]), 0);
        assert.equal(firing([policy(true), fwSubnet(undefined)]), 0);
        assert.equal(firing([policy(true), fwSubnet("10.225.0.0/26", "nodes")]), 0);
        assert.deepEqual(messages(name, [policy(true), fwSubnet("10.225.0.0/26"), vnet(undefined, T.subnet)]), [], "VNets only");
      });
    });

    describe("firewall-zones-match-cluster", () => {
      const name = AZURE_RULES.firewallZones.id;
      const zonal = (purpose?: string) => cluster({ agentPoolProfiles: [{ availabilityZones: ["1", "2", "3"] }], ...(purpose ? { tags: { [TAGS.purpose]: purpose } } : {}) });
      const fw = (zones: unknown, ips?: unknown[], type = T.firewall): Res => ({ type, name: "egress", urn: "urn:fw", props: { zones, ...(ips ? { ipConfigurations: ips } : {}) } });

      it("advises the cluster's zones and several public IPs on a production firewall", () => {
        assert.deepEqual(stackOf(name, [zonal("FastProd"), fw(["1"], [{}])]), [
          { urn: "urn:fw", message: "Azure Firewall 'egress': is not in zone(s) 2, 3 where cluster nodes run: a zone outage would cut the cluster's egress" + tail(AZURE_RULES.firewallZones) },
          { urn: "urn:fw", message: "Azure Firewall 'egress': has 1 public IP: production egress exhausts SNAT ports; set firewall.publicIpCount (Microsoft recommends 20 for production)" + tail(AZURE_RULES.firewallZones) },
        ]);
        assert.deepEqual(messages(name, [zonal("FastProd"), fw(["1", "2", "3"])]), [
          "Azure Firewall 'egress': has 0 public IP: production egress exhausts SNAT ports; set firewall.publicIpCount (Microsoft recommends 20 for production)" + tail(AZURE_RULES.firewallZones),
        ]);
      });

      it("is content with matching zones and two public IPs, and asks no IPs of DevTest or a cluster without a purpose", () => {
        assert.deepEqual(messages(name, [zonal("FastProd"), fw(["1", "2", "3"], [{}, {}])]), []);
        assert.deepEqual(messages(name, [zonal("DevTest"), fw(["1", "2", "3"], [{}])]), []);
        assert.deepEqual(messages(name, [zonal(), fw(["1", "2", "3"], [{}])]), []);
        assert.equal(messages(name, [zonal("DevTest"), fw(undefined, [{}])]).length, 1, "zones still matter on DevTest");
        assert.deepEqual(messages(name, [cluster({}), fw(undefined, [{}, {}])]), [], "a cluster without zones");
        assert.deepEqual(messages(name, [fw(undefined, [{}])]), [], "no cluster");
        assert.deepEqual(messages(name, [zonal("FastProd"), fw(undefined, [{}], T.firewallPolicy)]), []);
      });
    });
  });

  describe("no-hpa-on-model-deployments", () => {
    const name = "no-hpa-on-model-deployments";
    const hpa = (target: string | undefined, kind = "Deployment", type = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"): Res => ({
      type,
      name: "hpa",
      urn: "urn:hpa",
      props: { spec: { scaleTargetRef: { kind, ...(target === undefined ? {} : { name: target }) } } },
    });
    const said = (target: string) =>
      `HorizontalPodAutoscaler 'hpa' targets model deployment '${target}'. The router autoscales model services (autoscaleEnabled/autoscaleMinReplicas/autoscaleMaxReplicas in the service config): remove the HPA.`;

    it("names the HPA and its target, at the HPA", () => {
      assert.deepEqual(stackOf(name, [hpa("model-a")]), [{ urn: "urn:hpa", message: said("model-a") }]);
    });

    it("targets a model deployment by its name, or any Deployment named model-*", () => {
      const scorer = modelDeployment({}, {}, "scorer");
      assert.deepEqual(messages(name, [scorer, hpa("scorer")]), [said("scorer")]);
      assert.deepEqual(messages(name, [hpa("scorer")]), [], "no model deployment of that name");
      assert.deepEqual(messages(name, [routerDeployment({}), hpa("aks-inference-router")]), [], "the router's Deployment is not a model's");
      assert.deepEqual(messages(name, [hpa("my-model-a")]), []);
      assert.deepEqual(messages(name, [hpa(undefined)]), []);
      assert.deepEqual(messages(name, [scorer, hpa("scorer", "StatefulSet")]), [], "only kind Deployment");
      assert.deepEqual(messages(name, [hpa("model-a", "StatefulSet")]), []);
    });

    it("reads every autoscaling API version", () => {
      for (const v of ["v1", "v2", "v2beta2", "v10"]) assert.deepEqual(messages(name, [hpa("model-a", "Deployment", `kubernetes:autoscaling/${v}:HorizontalPodAutoscaler`)]), [said("model-a")], v);
      assert.deepEqual(messages(name, [hpa("model-a", "Deployment", "kubernetes:autoscaling/v2:HorizontalPodAutoscalerPatch")]), [said("model-a")], "a Patch creates the HPA if none exists");
      for (const type of ["kubernetes:autoscaling/v2:HorizontalPodAutoscalerList", "kubernetes:autoscaling/:HorizontalPodAutoscaler", "kubernetes:autoscaling/beta:HorizontalPodAutoscaler", "x-kubernetes:autoscaling/v2:HorizontalPodAutoscaler", T.deployment]) {
        assert.deepEqual(messages(name, [hpa("model-a", "Deployment", type)]), [], type);
      }
    });
  });

  describe("version-split-sums-to-100", () => {
    const name = "version-split-sums-to-100";
    const version = (service: string, v: string, traffic: number, mirrorPercent = 0, role = "model"): Res => ({
      type: T.service,
      urn: `urn:${service}-${v}`,
      name: `${service}-${v}-service`,
      props: { metadata: { labels: { [LABELS.role]: role, [LABELS.service]: service }, annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(routingSettings(service, { version: { name: v, traffic, mirrorPercent } })) } } },
    });

    it("puts a sum that is not 100 on the last version, and judges each service on its own", () => {
      assert.deepEqual(stackOf(name, [version("fraud", "blue", 60), version("churn", "x", 100), version("fraud", "green", 30)]), [
        { urn: "urn:fraud-green", message: "Service 'fraud': versions of 'fraud' must sum to 100, got 90. Set the versions' traffic (and mirrorPercent) in services[].versions of the stack config." },
      ]);
      assert.deepEqual(messages(name, [version("fraud", "blue", 60), version("fraud", "green", 40), version("churn", "x", 100)]), []);
    });

    it("reads model Services with valid settings only", () => {
      assert.deepEqual(messages(name, [version("fraud", "blue", 60, 0, "router")]), [], "not a model Service");
      const broken: Res = { type: T.service, name: "x", props: { metadata: { labels: { [LABELS.role]: "model", [LABELS.service]: "fraud" }, annotations: { [SETTINGS_ANNOTATION]: "{" } } } };
      assert.deepEqual(messages(name, [broken]), []);
      assert.deepEqual(messages(name, [{ ...version("fraud", "blue", 60), type: T.deployment }]), [], "Services only");
      assert.deepEqual(messages(name, [{ type: T.service, name: "y", props: { metadata: { labels: { [LABELS.role]: "model", [LABELS.service]: "fraud" } } } }]), [], "no annotations");
    });
  });

  describe("registry and storage account", () => {
    it("acr-admin-user-disabled: only adminUserEnabled true", () => {
      const acr = (props: Record<string, unknown>, type = T.registry): Res => ({ type, name: "acr", props });
      assert.deepEqual(check("acr-admin-user-disabled", acr({ adminUserEnabled: true })), [
        "Container registry 'acr' has the admin user enabled. Set adminUserEnabled: false; the cluster pulls with its kubelet identity (AcrPull).",
      ]);
      assert.deepEqual(check("acr-admin-user-disabled", acr({})), [], "off by default");
      assert.deepEqual(check("acr-admin-user-disabled", acr({ adminUserEnabled: "true" })), []);
      assert.deepEqual(check("acr-admin-user-disabled", acr({ adminUserEnabled: true }, T.account)), []);
    });

    it("storage-no-public-blob-access: anything but false", () => {
      const st = (props: Record<string, unknown>, type = T.account): Res => ({ type, name: "st", props });
      assert.deepEqual(check("storage-no-public-blob-access", st({})), ["Storage account 'st' allows public blob access. Set allowBlobPublicAccess: false."]);
      assert.equal(check("storage-no-public-blob-access", st({ allowBlobPublicAccess: "false" })).length, 1);
      assert.deepEqual(check("storage-no-public-blob-access", st({ allowBlobPublicAccess: false })), []);
      assert.deepEqual(check("storage-no-public-blob-access", st({}, T.registry)), []);
    });

    it("storage-no-shared-key: the whole message, with the fix and the Microsoft document", () => {
      const st = (props: Record<string, unknown>, type = T.account): Res => ({ type, name: "storage", props });
      assert.deepEqual(check("storage-no-shared-key", st({ allowSharedKeyAccess: true })), [
        `Storage account 'storage' allows Shared Key authorization (allowSharedKeyAccess is not false): one account key would open every container, and whoever holds a connection string keeps that access. Set allowSharedKeyAccess: false; model pods read and write blobs with their workload identity (rule storage-no-shared-key; Microsoft: "Prevent Shared Key authorization for an Azure Storage account" https://learn.microsoft.com/azure/storage/common/shared-key-authorization-prevent).`,
      ]);
      assert.equal(check("storage-no-shared-key", st({ allowSharedKeyAccess: "false" })).length, 1);
      assert.deepEqual(check("storage-no-shared-key", st({ allowSharedKeyAccess: true }, T.registry)), []);
    });
  });

  describe("Azure ML v1's limits", () => {
    it("max-1000-models-per-deployment: exactly 1,000 passes, 1,001 does not", () => {
      const name = "max-1000-models-per-deployment";
      assert.deepEqual(check(name, modelDeployment({}, { [MODEL_COUNT_ANNOTATION]: "1001" })), ["Model deployment 'svc-a-deployment' serves 1001 models; the limit is 1000 per deployment. Split the service into several."]);
      assert.deepEqual(check(name, modelDeployment({}, { [MODEL_COUNT_ANNOTATION]: "1000" })), []);
      assert.deepEqual(check(name, modelDeployment({})), [], "no count");
      assert.deepEqual(check(name, { type: T.deployment, name: "d", props: { metadata: { labels: { [LABELS.role]: "model" } } } }), [], "no annotations");
      assert.deepEqual(check(name, { ...modelDeployment({}, { [MODEL_COUNT_ANNOTATION]: "5000" }), type: T.statefulSet }), [], "Deployments only");
      const router = routerDeployment({});
      (router.props.metadata as { annotations?: Record<string, string> }).annotations = { [MODEL_COUNT_ANNOTATION]: "5000" };
      assert.deepEqual(check(name, router), [], "model deployments only");
    });

    it("payload-limit-at-most-100mb: exactly 100 MB passes, one byte more does not; a router without a limit is refused", () => {
      const name = "payload-limit-at-most-100mb";
      const max = 100 * 1024 * 1024;
      assert.deepEqual(check(name, routerDeployment({ [ROUTER_ENV.maxBodyBytes]: String(max + 1) })), [
        "Router deployment 'router-deployment' accepts bodies of 104857601 bytes; the limit is 104857600 (100 MB). Lower router.payloadLimitMb.",
      ]);
      assert.deepEqual(check(name, routerDeployment({ [ROUTER_ENV.maxBodyBytes]: String(max) })), []);
      assert.deepEqual(check(name, routerDeployment({ [ROUTER_ENV.maxBodyBytes]: "0" })), []);
      const none = ["Router deployment 'router-deployment' sets no ROUTER_MAX_BODY_BYTES; set router.payloadLimitMb (at most 100)."];
      assert.deepEqual(check(name, routerDeployment({})), none);
      assert.deepEqual(check(name, routerDeployment({ [ROUTER_ENV.maxBodyBytes]: "lots" })), none);
      const fromSecret = routerDeployment({});
      (fromSecret.props.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers = [{ env: [{ name: ROUTER_ENV.maxBodyBytes }] }];
      assert.deepEqual(check(name, fromSecret), none, "a variable without a value");
      const secondContainer = routerDeployment({});
      (secondContainer.props.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers = [{ name: "sidecar" }, { env: [{ name: "X", value: "1" }, { name: ROUTER_ENV.maxBodyBytes, value: String(max + 1) }] }];
      assert.match(check(name, secondContainer)[0], /accepts bodies of 104857601 bytes/, "any container's variable");
      const noSpec: Res = { type: T.deployment, name: "r", props: { metadata: { labels: { [LABELS.role]: "router" } } } };
      assert.deepEqual(check(name, noSpec), ["Router deployment 'r' sets no ROUTER_MAX_BODY_BYTES; set router.payloadLimitMb (at most 100)."]);
      assert.deepEqual(check(name, modelDeployment({})), [], "routers only");
      assert.deepEqual(check(name, { ...routerDeployment({}), type: T.daemonSet }), []);
    });
  });

  describe("cni-firewall-covers-required-hosts", () => {
    const name = "cni-firewall-covers-required-hosts";
    const cni = (extra: Record<string, unknown> = {}) => purposeCluster("FastProd", { networkProfile: { networkPlugin: "azure" }, ...extra });
    const acr: Res = { type: T.registry, name: "acr", props: { registryName: "prodacr", dataEndpointEnabled: true } };
    const sa: Res = { type: T.account, name: "st", props: { accountName: "prodst" } };
    const ALLOWED = ["*.hcp.westeurope.azmk8s.io", "mcr.microsoft.com", "*.data.mcr.microsoft.com", "prodst.table.core.windows.net", "aks-prod.westeurope.cloudapp.azure.com", "prodacr.azurecr.io", "prodacr.westeurope.data.azurecr.io", "prodst.blob.core.windows.net"];
    const base = (allowed = ALLOWED) => [acr, sa, appRules(allowed, ["AzureKubernetesService"])];
    /** The hosts the message lists, in its order. */
    const missing = (all: Res[]): string[] => {
      const m = messages(name, all);
      if (m.length === 0) return [];
      assert.equal(m.length, 1);
      const list = /egress does not allow (.*)\. Set egress: firewall/.exec(m[0]);
      assert.ok(list, m[0]);
      return list[1].split(", ").map((h) => h.split(" (")[0]);
    };

    it("lists each missing host with what uses it, and how to fix it, at the cluster", () => {
      assert.deepEqual(missing([cni(), ...base()]), []);
      assert.deepEqual(stackOf(name, [cni(), ...base(ALLOWED.filter((h) => !h.startsWith("prodacr")))]), [
        {
          urn: "urn:cluster",
          message:
            "Azure CNI cluster 'aks': egress does not allow prodacr.azurecr.io (Azure Container Registry (ACR)), prodacr.westeurope.data.azurecr.io (ACR data endpoint). Set egress: firewall (the stack then allows exactly the required hosts), or allow them on your own firewall/DNS (`npm run hosts -- <stack>` lists them).",
        },
      ]);
    });

    it("counts application rules of rule collection groups only, FQDNs and FQDN tags", () => {
      const aksHosts = ["mcr-0001.mcr-msedge.net", "management.azure.com", "login.microsoftonline.com", "packages.microsoft.com", "acs-mirror.azureedge.net", "packages.aks.azure.com"];
      assert.deepEqual(missing([cni(), acr, sa, appRules(ALLOWED)]), aksHosts, "no AKS FQDN tag");
      assert.deepEqual(missing([cni(), acr, sa, appRules(ALLOWED, ["AzureKubernetesService"], "NetworkRule")]), [...aksHosts, ...ALLOWED]);
      assert.deepEqual(missing([cni(), acr, sa, appRules(ALLOWED, ["AzureKubernetesService"], "ApplicationRule", T.firewallPolicy)]), [...aksHosts, ...ALLOWED]);
      assert.deepEqual(missing([cni(), acr, sa, { type: T.ruleGroup, name: "g", props: { ruleCollections: [{}, { rules: [{ ruleType: "ApplicationRule" }] }] } }, ...base().slice(2)]), []);
    });

    it("derives the hosts from the cluster, registry, account, router, Key Vault, token issuer, Defender and GPU pools", () => {
      const allowAll = ALLOWED;
      assert.deepEqual(missing([cni({ resourceName: undefined }), ...base()]), ["aks.westeurope.cloudapp.azure.com"], "the cluster's resource name, else its Pulumi name");
      assert.deepEqual(missing([cni({ location: "northeurope" }), ...base()]), ["*.hcp.northeurope.azmk8s.io", "aks-prod.northeurope.cloudapp.azure.com", "prodacr.northeurope.data.azurecr.io"]);
      assert.deepEqual(missing([cni(), { ...acr, props: { registryName: "prodacr", dataEndpointEnabled: "true" } }, sa, appRules(allowAll, ["AzureKubernetesService"])]), ["*.blob.core.windows.net"]);
      assert.deepEqual(missing([cni(), acr, { ...sa, props: { accountName: "otherst" } }, appRules(allowAll, ["AzureKubernetesService"])]), ["otherst.table.core.windows.net", "otherst.blob.core.windows.net"]);
      const jwks = routerDeployment({ [ROUTER_ENV.tokenJwksUri]: "https://Login.Example.com/keys" });
      assert.deepEqual(missing([cni(), ...base(), jwks]), [], "no service uses token auth");
      assert.deepEqual(missing([cni(), ...base(), jwks, modelService("token")]), ["login.example.com"]);
      assert.deepEqual(missing([cni(), ...base(), jwks, modelService("key")]), []);
      const modelWithJwks = modelDeployment({ containers: [{ env: [{ name: ROUTER_ENV.tokenJwksUri, value: "https://other.example.com/keys" }] }] });
      assert.deepEqual(missing([cni(), ...base(), modelWithJwks, jwks, modelService("token")]), ["login.example.com"], "the router's JWKS URI only");
      assert.deepEqual(missing([cni({ tags: { [TAGS.purpose]: "FastProd", [TAGS.tokenRegion]: "westeurope" } }), ...base(), routerDeployment({}), jwks]), ["login.example.com"], "the token region tag means token auth; the first router with a JWKS URI");
      // Defender for Containers' FQDNs (Microsoft's outbound rules; login.microsoftonline.com is the AKS FQDN tag's).
      assert.deepEqual(missing([cni({ securityProfile: { defender: {} } }), ...base()]), ["*.ods.opinsights.azure.com", "*.oms.opinsights.azure.com", "*.cloud.defender.microsoft.com"]);
      assert.deepEqual(missing([cni({ securityProfile: { defender: {} } }), ...base([...ALLOWED, "*.ods.opinsights.azure.com", "*.oms.opinsights.azure.com"])]), ["*.cloud.defender.microsoft.com"], "the Log Analytics hosts alone no longer cover Defender's sensor");
      assert.deepEqual(missing([cni({ securityProfile: {} }), ...base()]), []);
      const spc = (keyvaultName?: string, type = T.secretProviderClass): Res => ({ type, name: "tls", props: { spec: { parameters: keyvaultName ? { keyvaultName } : {} } } });
      assert.deepEqual(missing([cni(), ...base(), spc(), spc("MyVault")]), ["myvault.vault.azure.net"]);
      assert.deepEqual(missing([cni(), ...base(), spc("MyVault", T.secret)]), []);
      assert.deepEqual(missing([cni(), ...base(), pool("gpu", false), pool("gpu", true, "x", T.subnet)]), []);
      assert.deepEqual(missing([cni(), ...base(), pool("gpu", true)]), ["nvidia.github.io", "us.download.nvidia.com", "download.docker.com"]);
      assert.deepEqual(missing([cni(), ...base(), { type: T.pool, name: "p", props: {} }, { type: T.ruleGroup, name: "none", props: {} }]), [], "a pool without taints, a group without collections");
      assert.deepEqual(missing([cni(), appRules(ALLOWED, ["AzureKubernetesService"])]), ["*.blob.core.windows.net"], "no registry or storage account in the stack: their hosts have no name to check, the rest is still judged");
      assert.deepEqual(missing([cni({ location: undefined }), ...base(["mcr.microsoft.com", "*.data.mcr.microsoft.com", "prodst.table.core.windows.net", "prodacr.azurecr.io", "prodst.blob.core.windows.net"])]), [], "no location: the regional hosts have no name to check");
    });

    it("takes the scoring host from the router Service: a custom domain needs no cloudapp name, an Azure name its label", () => {
      const noCloudapp = ALLOWED.filter((h) => !h.endsWith("cloudapp.azure.com"));
      const routerService = (host: string | undefined, role = "router"): Res => ({ type: T.service, name: "router-service", props: { metadata: { labels: { [LABELS.role]: role }, annotations: host ? { [ROUTER_HOST_ANNOTATION]: host } : {} } } });
      const ip = (label?: string): Res => ({ type: T.publicIp, name: "ip", props: { dnsSettings: label ? { domainNameLabel: label } : {} } });
      assert.deepEqual(missing([cni(), ...base(noCloudapp)]), ["aks-prod.westeurope.cloudapp.azure.com"]);
      assert.deepEqual(missing([cni(), ...base(noCloudapp), routerService("ml.contoso.com")]), []);
      assert.deepEqual(missing([cni(), ...base(noCloudapp), routerDeployment({}), routerService("ml.contoso.com")]), [], "the router's Service, not its Deployment");
      assert.deepEqual(missing([cni(), ...base(noCloudapp), routerService("ml.contoso.com", "model")]), ["aks-prod.westeurope.cloudapp.azure.com"], "the router's Service only");
      assert.deepEqual(missing([cni(), ...base(noCloudapp), routerService("scoring-1a2b.westeurope.cloudapp.azure.com")]), ["scoring-1a2b.westeurope.cloudapp.azure.com"]);
      assert.deepEqual(missing([cni(), ...base(noCloudapp), ip(), ip("endpoint")]), ["endpoint.westeurope.cloudapp.azure.com"], "the first public IP with a label");
      assert.deepEqual(missing([cni(), ...base(noCloudapp), routerService(undefined), ip("endpoint")]), ["endpoint.westeurope.cloudapp.azure.com"]);
      assert.deepEqual(missing([cni(), ...base(noCloudapp), { ...ip("endpoint"), type: T.firewall }]), ["aks-prod.westeurope.cloudapp.azure.com"], "public IPs only");
      assert.deepEqual(missing([cni(), ...base(noCloudapp), routerService("[unknown]"), ip("endpoint")]), ["endpoint.westeurope.cloudapp.azure.com"], "in a preview the host is the public IP's Azure name, not a custom domain");
      const unannotated: Res = { type: T.service, name: "router-service", props: { metadata: { labels: { [LABELS.role]: "router" } } } };
      assert.deepEqual(missing([cni(), ...base(noCloudapp), unannotated, ip("endpoint")]), ["endpoint.westeurope.cloudapp.azure.com"], "a router Service without annotations");
    });

    it("concerns an Azure CNI cluster only", () => {
      assert.deepEqual(messages(name, [...base([])]), []);
      assert.deepEqual(messages(name, [purposeCluster("FastProd"), ...base([])]), []);
      assert.deepEqual(messages(name, [purposeCluster("FastProd", { networkProfile: { networkPlugin: "kubenet" } }), ...base([])]), []);
    });
  });

  describe("auth and TLS outside DevTest", () => {
    it("auth-outside-devtest: names the service and the cluster's purpose, at the Service", () => {
      const name = "auth-outside-devtest";
      assert.deepEqual(stackOf(name, [purposeCluster("FastProd"), modelService("none"), modelService("key", "b"), modelService("token", "c")]), [
        { urn: "urn:svc-a", message: "Model service 'a' has auth disabled on a FastProd cluster. Remove authEnabled: false (key auth) or set tokenAuthEnabled: true." },
      ]);
      assert.deepEqual(messages(name, [modelService("none")]), [], "no cluster: no purpose to judge by");
      assert.deepEqual(messages(name, [cluster({}), modelService("none")]), [], "a cluster without a purpose tag");
      assert.deepEqual(messages(name, [purposeCluster("FastProd"), modelService("none", "a", "router")]), [], "model Services only");
    });

    it("tls-outside-devtest: a router without a certificate file, at the router", () => {
      const name = "tls-outside-devtest";
      assert.deepEqual(stackOf(name, [purposeCluster("DenseProd"), routerDeployment({})]), [
        { urn: "urn:router", message: "Router 'router-deployment' serves plain HTTP on a DenseProd cluster. Configure endpoint.tls (keyVault, or certificate and privateKey as secrets)." },
      ]);
      assert.equal(messages(name, [purposeCluster("DenseProd"), routerDeployment({ [ROUTER_ENV.tlsCertFile]: "" })]).length, 1);
      assert.deepEqual(messages(name, [purposeCluster("DenseProd"), routerDeployment({ [ROUTER_ENV.tlsCertFile]: "/tls/tls.crt" })]), []);
      assert.deepEqual(messages(name, [routerDeployment({})]), []);
      assert.deepEqual(messages(name, [cluster({}), routerDeployment({})]), []);
      assert.deepEqual(messages(name, [purposeCluster("DenseProd"), modelDeployment({ containers: [] })]), [], "routers only");
    });
  });

  describe("gpu-services-on-tainted-gpu-pools", () => {
    const name = "gpu-services-on-tainted-gpu-pools";
    const GPU_TOLERATION = { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" };
    const gpuSpec = (o: { tolerations?: unknown[]; pool?: string; resources?: Record<string, unknown> } = {}) => ({
      containers: [{ resources: o.resources ?? { limits: { "nvidia.com/gpu": "1" } } }],
      tolerations: o.tolerations ?? [GPU_TOLERATION],
      ...(o.pool ? { nodeSelector: { [GPU_POOL_LABEL]: o.pool } } : {}),
    });
    const head = "GPU model deployment 'svc-a-deployment' must tolerate nvidia.com/gpu=present:NoSchedule and select a GPU pool carrying that taint (nodeSelector aks-inference/gpu-pool); ";

    it("says which of the three is wrong, and lists the tainted pools to choose from", () => {
      assert.deepEqual(stackOf(name, [pool("gpu", true), pool("t4", true), modelDeployment(gpuSpec())]), [{ urn: "urn:model", message: `${head}it selects none. Set gpuPool to one of: gpu, t4.` }]);
      assert.deepEqual(messages(name, [pool("gpu", true), pool("cpu", false), modelDeployment(gpuSpec({ pool: "cpu" }))]), [`${head}pool 'cpu' is not a tainted GPU pool of this stack. Set gpuPool to one of: gpu.`]);
      assert.deepEqual(messages(name, [pool("gpu", true), modelDeployment(gpuSpec({ pool: "gpu", tolerations: [] }))]), [`${head}it lacks the toleration. Set gpuPool to one of: gpu.`]);
      assert.deepEqual(messages(name, [modelDeployment(gpuSpec({ pool: "gpu" }))]), [`${head}pool 'gpu' is not a tainted GPU pool of this stack. Set gpuPool to one of: (no GPU pools: add one under gpuPools).`]);
      assert.deepEqual(messages(name, [pool("gpu", true), modelDeployment(gpuSpec({ pool: "gpu" }))]), []);
    });

    it("a tainted pool is an AgentPool with the taint and the pool label", () => {
      const none = (all: Res[]) => messages(name, [...all, modelDeployment(gpuSpec({ pool: "gpu" }))]);
      assert.equal(none([pool("gpu", true, "x", T.subnet)]).length, 1);
      assert.match(none([pool(undefined, true)])[0], /one of: \(no GPU pools: add one under gpuPools\)\.$/);
      assert.match(none([pool("", true)])[0], /one of: \(no GPU pools: add one under gpuPools\)\.$/);
      assert.match(messages(name, [pool("t4", true), pool(undefined, true), pool("", true), modelDeployment(gpuSpec())])[0], /it selects none\. Set gpuPool to one of: t4\.$/, "unlabelled pools are not listed");
      assert.equal(none([{ type: T.pool, name: "p", props: { nodeLabels: { [GPU_POOL_LABEL]: "gpu" } } }]).length, 1, "no taints");
    });

    it("the toleration: key nvidia.com/gpu, effect NoSchedule or none", () => {
      const lacks = (t: unknown) => messages(name, [pool("gpu", true), modelDeployment(gpuSpec({ pool: "gpu", tolerations: [t] }))]).length;
      assert.equal(lacks({ key: "nvidia.com/gpu", operator: "Exists" }), 0);
      assert.equal(lacks({ key: "nvidia.com/gpu", effect: "NoExecute" }), 1);
      assert.equal(lacks({ key: "gpu", effect: "NoSchedule" }), 1);
      const noTolerations = modelDeployment({ containers: [{ resources: { limits: { "nvidia.com/gpu": "1" } } }], nodeSelector: { [GPU_POOL_LABEL]: "gpu" } });
      assert.deepEqual(messages(name, [pool("gpu", true), noTolerations]), [`${head}it lacks the toleration. Set gpuPool to one of: gpu.`]);
    });

    it("concerns model deployments that ask for a GPU, by limit or else by request", () => {
      const asks = (resources: Record<string, unknown>) => messages(name, [pool("gpu", true), modelDeployment(gpuSpec({ resources }))]).length;
      assert.equal(asks({ requests: { "nvidia.com/gpu": "1" } }), 1);
      assert.equal(asks({ limits: { "nvidia.com/gpu": "2" } }), 1);
      assert.equal(asks({ limits: { "nvidia.com/gpu": "0" } }), 0);
      assert.equal(asks({ limits: { "nvidia.com/gpu": "0" }, requests: { "nvidia.com/gpu": "1" } }), 0, "the limit wins");
      assert.equal(asks({ limits: { cpu: "1" }, requests: { "nvidia.com/gpu": "1" } }), 1);
      assert.equal(asks({}), 0);
      assert.deepEqual(messages(name, [pool("gpu", true), modelDeployment({})]), []);
      const twoContainers = modelDeployment({ containers: [{}, { resources: { limits: { "nvidia.com/gpu": "1" } } }] });
      assert.equal(messages(name, [pool("gpu", true), twoContainers]).length, 1, "any container");
      const router = routerDeployment({});
      (router.props.spec as { template: { spec: Record<string, unknown> } }).template.spec = gpuSpec();
      assert.deepEqual(messages(name, [pool("gpu", true), router]), [], "model deployments only");
    });
  });

  describe("token issuer region, Defender, DevTest self-scaling", () => {
    it("token-issuer-region-matches-cluster: compares regions regardless of case and spaces", () => {
      const name = "token-issuer-region-matches-cluster";
      const aks = (location: string | undefined, tokenRegion: string | undefined) =>
        cluster({ ...(location === undefined ? {} : { location }), tags: tokenRegion === undefined ? {} : { [TAGS.tokenRegion]: tokenRegion } });
      assert.deepEqual(check(name, aks("westeurope", "eastus")), [
        "AKS cluster 'aks' is in westeurope but its token issuer is in eastus. Token auth depends on the issuer's region: deploy both in one region (tokenIssuer.region / azure-native:location).",
      ]);
      assert.deepEqual(check(name, aks("northcentralus", "North Central US")), []);
      assert.deepEqual(check(name, aks("North  Central US ", "NORTHCENTRALUS")), []);
      assert.deepEqual(check(name, aks("West Europe", "westeurope")), []);
      assert.equal(check(name, aks("West Europe", "West US")).length, 1);
      assert.deepEqual(check(name, aks("westeurope", undefined)), [], "no token auth");
      assert.deepEqual(check(name, aks("westeurope", "")), []);
      assert.deepEqual(check(name, aks(undefined, "eastus")), [], "no location to compare with");
      assert.deepEqual(check(name, { ...aks("westeurope", "eastus"), type: T.pool }), []);
    });

    it("defender-outside-devtest: names the purpose, asks for defender: true", () => {
      const name = "defender-outside-devtest";
      assert.deepEqual(check(name, purposeCluster("FastProd")), ["AKS cluster 'aks' (FastProd) has no Defender profile. Set defender: true in the stack config."]);
      assert.deepEqual(check(name, purposeCluster("DenseProd", { securityProfile: {} })), ["AKS cluster 'aks' (DenseProd) has no Defender profile. Set defender: true in the stack config."]);
      assert.deepEqual(check(name, purposeCluster("FastProd", { securityProfile: { defender: {} } })), []);
      assert.deepEqual(check(name, purposeCluster("DevTest")), []);
      assert.deepEqual(check(name, cluster({})), [], "no purpose");
      assert.deepEqual(check(name, purposeCluster("")), []);
      assert.deepEqual(check(name, { ...purposeCluster("FastProd"), type: T.pool }), []);
    });

    it("devtest-without-router-self-scaling: a self-scaling router on DevTest, at the router", () => {
      const name = "devtest-without-router-self-scaling";
      const scaling = routerDeployment({ [ROUTER_ENV.selfScaling]: "true" });
      assert.deepEqual(stackOf(name, [purposeCluster("DevTest"), scaling]), [
        { urn: "urn:router", message: "Router 'router-deployment' self-scales on a DevTest cluster. Set router.selfScaling: false (the default for DevTest)." },
      ]);
      assert.deepEqual(messages(name, [purposeCluster("DevTest"), routerDeployment({ [ROUTER_ENV.selfScaling]: "false" })]), []);
      assert.deepEqual(messages(name, [purposeCluster("DevTest"), routerDeployment({})]), []);
      assert.deepEqual(messages(name, [scaling]), [], "no cluster");
      assert.deepEqual(messages(name, [cluster({}), scaling]), []);
      const model = modelDeployment({ containers: [{ env: [{ name: ROUTER_ENV.selfScaling, value: "true" }] }] });
      assert.deepEqual(messages(name, [purposeCluster("DevTest"), model]), [], "routers only");
    });
  });

  describe("identity and secrets", () => {
    const NS = "aks-inference";
    const CSI_DOC = 'Microsoft: "Use the Azure Key Vault provider for Secrets Store CSI Driver in an Azure Kubernetes Service (AKS) cluster" https://learn.microsoft.com/azure/aks/csi-secrets-store-driver';
    const WI_DOC = 'Microsoft: "Use Microsoft Entra Workload ID with Azure Kubernetes Service (AKS)" https://learn.microsoft.com/azure/aks/workload-identity-overview';
    const idCluster = (extra: Record<string, unknown> = {}): Res =>
      cluster({ oidcIssuerProfile: { enabled: true }, securityProfile: { workloadIdentity: { enabled: true } }, addonProfiles: { azureKeyvaultSecretsProvider: { enabled: true } }, ...extra });
    const workload = (spec: Record<string, unknown>, o: { podLabels?: Record<string, string>; namespace?: string | null; type?: string } = {}): Res => ({
      type: o.type ?? T.deployment,
      name: "router-deployment",
      urn: "urn:w",
      props: {
        metadata: { name: "aks-inference-router", ...(o.namespace === null ? {} : { namespace: o.namespace ?? NS }) },
        spec: { template: { metadata: { labels: o.podLabels ?? {} }, spec: { containers: [{ name: "c" }], ...spec } } },
      },
    });
    const named = (type: string, name: string, namespace: string | null = NS, extra: Record<string, unknown> = {}): Res => ({
      type,
      name: `${name}-res`,
      props: { metadata: { name, ...(namespace === null ? {} : { namespace }), ...extra } },
    });
    const providerClass = (name: string, spec: Record<string, unknown> = {}, namespace: string | null = NS): Res => ({
      type: T.secretProviderClass,
      name: "router-tls",
      props: { metadata: { name, ...(namespace === null ? {} : { namespace }) }, spec: { provider: "azure", parameters: { usePodIdentity: "false", clientID: "client", keyvaultName: "kv" }, ...spec } },
    });
    const csiVolume = (spc: string, driver = "secrets-store.csi.k8s.io") => ({ name: "tls", csi: { driver, readOnly: true, volumeAttributes: { secretProviderClass: spc } } });

    describe("pods-reference-only-what-the-stack-creates", () => {
      const name = "pods-reference-only-what-the-stack-creates";
      const ref = (kind: string, what: string, ref: string, ns: string, how: string) =>
        `${kind} 'router-deployment' references ${what} '${ref}' in namespace '${ns}', which this stack does not create there: its pods would wait in ContainerCreating for ever. ${how} (rule pods-reference-only-what-the-stack-creates; ${CSI_DOC}).`;
      const TLS_HOW = "For TLS set endpoint.tls.keyVault (read by the Secrets Store CSI driver) or certificate and privateKey (stored in a Secret by the stack)";

      it("names the workload's kind, the missing object, its namespace and the fix, at the workload", () => {
        const w = workload({ volumes: [{ name: "tls", secret: { secretName: "tls" } }] });
        assert.deepEqual(stackOf(name, [idCluster(), w]), [{ urn: "urn:w", message: ref("Deployment", "Secret", "tls", NS, TLS_HOW) }]);
        assert.deepEqual(messages(name, [idCluster(), workload({ volumes: [csiVolume("router-tls")] })]), [ref("Deployment", "SecretProviderClass", "router-tls", NS, "Create the SecretProviderClass with the workload")]);
        assert.deepEqual(messages(name, [idCluster(), workload({ serviceAccountName: "runner" }, { type: T.statefulSet })]), [ref("StatefulSet", "ServiceAccount", "runner", NS, "Create the ServiceAccount with the workload")]);
        assert.deepEqual(messages(name, [idCluster(), workload({ serviceAccountName: "runner" }, { type: T.daemonSet, namespace: null })]), [ref("DaemonSet", "ServiceAccount", "runner", "default", "Create the ServiceAccount with the workload")]);
        assert.deepEqual(messages(name, [idCluster(), workload({ serviceAccountName: "runner" }, { type: "kubernetes:core/v1:Pod" })]), [], "workloads: Deployments, StatefulSets, DaemonSets");
        assert.deepEqual(messages(name, [idCluster({ addonProfiles: {} }), { type: T.deployment, name: "bare", props: {} }, { type: T.statefulSet, name: "empty", props: { spec: { template: {} } } }]), [], "workloads without a pod spec reference nothing");
      });

      it("collects Secrets from volumes, env secretKeyRefs and envFrom, each once", () => {
        const w = workload({
          volumes: [{ name: "a", secret: { secretName: "one" } }, { name: "b", emptyDir: {} }],
          containers: [
            { name: "c", env: [{ name: "X", valueFrom: { secretKeyRef: { name: "two" } } }, { name: "Y", value: "y" }], envFrom: [{ secretRef: { name: "three" } }, { configMapRef: { name: "cm" } }] },
            { name: "d", env: [{ name: "Z", valueFrom: { secretKeyRef: { name: "one" } } }] },
          ],
        });
        assert.deepEqual(messages(name, [idCluster(), w]), ["one", "two", "three"].map((s) => ref("Deployment", "Secret", s, NS, TLS_HOW)));
        assert.deepEqual(messages(name, [idCluster(), w, named(T.secret, "one"), named(T.secret, "two"), named(T.secret, "three")]), []);
        const other = workload({ containers: [{ name: "c", env: [{ name: "P", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }, { name: "K", valueFrom: { configMapKeyRef: { name: "cm", key: "k" } } }] }, { name: "d" }] });
        assert.deepEqual(messages(name, [idCluster(), other]), [], "fieldRef and configMapKeyRef are no Secrets");
        const noAttributes = workload({ volumes: [{ name: "tls", csi: { driver: "secrets-store.csi.k8s.io" } }] });
        assert.deepEqual(messages(name, [idCluster(), noAttributes]), [], "a CSI volume naming no class");
        assert.equal(messages(name, [idCluster({ addonProfiles: {} }), noAttributes]).length, 1, "still needs the add-on");
        assert.equal(messages(name, [idCluster(), w, named(T.secret, "one"), named(T.secret, "two"), named(T.serviceAccount, "three")]).length, 1, "Secrets only");
      });

      it("a Secret counts when created or synced in the workload's namespace; unknown names and namespaces are the stack's", () => {
        const w = (namespace?: string | null) => workload({ volumes: [{ name: "tls", secret: { secretName: "tls" } }] }, { namespace });
        assert.deepEqual(messages(name, [idCluster(), w(), named(T.secret, "tls")]), []);
        assert.equal(messages(name, [idCluster(), w(), named(T.secret, "tls", "other")]).length, 1);
        assert.deepEqual(messages(name, [idCluster(), w(null), named(T.secret, "tls", null)]), [], "both in 'default'");
        assert.equal(messages(name, [idCluster(), w(null), named(T.secret, "tls")]).length, 1);
        assert.deepEqual(messages(name, [idCluster(), w(), named(T.secret, "tls", UNKNOWN)]), []);
        assert.deepEqual(messages(name, [idCluster(), w(UNKNOWN), named(T.secret, "tls", "other")]), []);
        assert.deepEqual(messages(name, [idCluster(), workload({ volumes: [{ name: "tls", secret: { secretName: UNKNOWN } }] })]), []);
        assert.deepEqual(messages(name, [idCluster(), workload({ volumes: [{ name: "tls", secret: { secretName: "" } }] })]), []);
        const synced = (namespace: string | null) => providerClass("router-tls", { secretObjects: [{ secretName: "other" }, { secretName: "tls" }] }, namespace);
        assert.deepEqual(messages(name, [idCluster(), w(), synced(NS)]), []);
        assert.equal(messages(name, [idCluster(), w(), synced("other")]).length, 1);
        assert.equal(messages(name, [idCluster(), w(), providerClass("router-tls", { secretObjects: [{ secretName: "other" }] })]).length, 1);
        assert.equal(messages(name, [idCluster(), w(), providerClass("router-tls")]).length, 1, "no secretObjects");
        assert.equal(messages(name, [idCluster(), w(), { ...synced(NS), type: T.secret, props: { metadata: { name: "x", namespace: NS }, spec: { secretObjects: [{ secretName: "tls" }] } } }]).length, 1);
      });

      it("a CSI volume needs its SecretProviderClass in the namespace and the cluster's add-on", () => {
        const w = workload({ volumes: [csiVolume("router-tls")] });
        assert.deepEqual(messages(name, [idCluster(), w, providerClass("router-tls")]), []);
        assert.equal(messages(name, [idCluster(), w, providerClass("router-tls", {}, "other")]).length, 1);
        assert.equal(messages(name, [idCluster(), w, providerClass("other")]).length, 1);
        assert.equal(messages(name, [idCluster(), w, { ...providerClass("router-tls"), type: T.secret }]).length, 1);
        assert.deepEqual(messages(name, [idCluster(), workload({ volumes: [csiVolume(UNKNOWN)] })]), []);
        assert.deepEqual(messages(name, [idCluster(), workload({ volumes: [csiVolume("router-tls", "file.csi.azure.com")] })]), [], "other CSI drivers");
        const addon = `Deployment 'router-deployment' mounts a Secrets Store CSI volume, but AKS cluster 'aks' does not enable the azureKeyvaultSecretsProvider add-on: no CSI driver can mount it. Enable the add-on (rule pods-reference-only-what-the-stack-creates; ${CSI_DOC}).`;
        assert.deepEqual(stackOf(name, [idCluster({ addonProfiles: {} }), w, providerClass("router-tls")]), [{ urn: "urn:w", message: addon }]);
        assert.deepEqual(messages(name, [idCluster({ addonProfiles: { azureKeyvaultSecretsProvider: { enabled: false } } }), workload({ volumes: [csiVolume(UNKNOWN)] })]), [addon], "the add-on even when the class is not known yet");
        assert.deepEqual(messages(name, [idCluster({ addonProfiles: { azureKeyvaultSecretsProvider: { enabled: "true" } } }), w, providerClass("router-tls")]), [addon]);
        assert.deepEqual(messages(name, [idCluster({ addonProfiles: UNKNOWN }), w, providerClass("router-tls")]), [], "unknown on a first preview");
        assert.deepEqual(messages(name, [idCluster({ addonProfiles: { azureKeyvaultSecretsProvider: UNKNOWN } }), w, providerClass("router-tls")]), []);
        assert.deepEqual(messages(name, [idCluster({ addonProfiles: { azureKeyvaultSecretsProvider: { enabled: UNKNOWN } } }), w, providerClass("router-tls")]), []);
        assert.deepEqual(messages(name, [w, providerClass("router-tls")]), [], "no cluster in the stack");
        assert.deepEqual(messages(name, [idCluster({ addonProfiles: {} }), workload({ volumes: [csiVolume("x", "file.csi.azure.com")] })]), []);
      });

      it("a ServiceAccount other than 'default' must be created in the namespace", () => {
        assert.deepEqual(messages(name, [idCluster(), workload({ serviceAccountName: "default" })]), []);
        assert.deepEqual(messages(name, [idCluster(), workload({ serviceAccountName: UNKNOWN })]), []);
        assert.deepEqual(messages(name, [idCluster(), workload({})]), []);
        assert.deepEqual(messages(name, [idCluster(), workload({ serviceAccountName: "runner" }), named(T.serviceAccount, "runner")]), []);
        assert.equal(messages(name, [idCluster(), workload({ serviceAccountName: "runner" }), named(T.serviceAccount, "runner", "other")]).length, 1);
        assert.equal(messages(name, [idCluster(), workload({ serviceAccountName: "runner" }), named(T.secret, "runner")]).length, 1);
        assert.equal(messages(name, [idCluster(), workload({ serviceAccountName: "runner" }), named(T.serviceAccount, "other")]).length, 1);
      });
    });

    describe("model-pods-reachable-only-from-the-router", () => {
      const name = "model-pods-reachable-only-from-the-router";
      const NP_DOC = 'Microsoft: "Secure traffic between pods by using network policies in Azure Kubernetes Service (AKS)" https://learn.microsoft.com/azure/aks/use-network-policies';
      const model = (namespace: string | null = NS): Res => {
        const d = modelDeployment({});
        if (namespace !== null) (d.props.metadata as Record<string, unknown>).namespace = namespace;
        return d;
      };
      const fromRouter = { podSelector: { matchLabels: { [LABELS.role]: "router" } } };
      const np = (spec: Record<string, unknown>, namespace: string | null = NS, type = T.networkPolicy): Res => ({
        type,
        name: "np",
        props: { metadata: namespace === null ? {} : { namespace }, spec: { podSelector: { matchLabels: { [LABELS.role]: "model" } }, policyTypes: ["Ingress"], ingress: [{ from: [fromRouter] }], ...spec } },
      });
      const unguarded = `Model deployment 'svc-a-deployment' has no NetworkPolicy in its namespace letting only router pods (aks-inference/role=router) reach model pods: any pod in the cluster could call the model around the router's auth and limits. Deploy the stack's NetworkPolicies (components/k8s/networkPolicy.ts) with the model services (rule model-pods-reachable-only-from-the-router; ${NP_DOC}).`;
      const engineCluster = (networkProfile: Record<string, unknown>) => cluster({ networkProfile });

      it("refuses a model deployment without a NetworkPolicy admitting router pods only, at the deployment", () => {
        assert.deepEqual(stackOf(name, [model()]), [{ urn: "urn:model", message: unguarded }]);
        assert.deepEqual(messages(name, [model(), np({})]), []);
        assert.deepEqual(messages(name, [routerDeployment({})]), [], "router pods need no such policy");
      });

      it("a guarding policy selects model pods, declares Ingress, and every rule names router pods as every source", () => {
        const guarded = (spec: Record<string, unknown>, namespace: string | null = NS, type = T.networkPolicy) => messages(name, [model(), np(spec, namespace, type)]).length === 0;
        assert.equal(guarded({ podSelector: { matchLabels: { [LABELS.role]: "router" } } }), false);
        assert.equal(guarded({ podSelector: {} }), false);
        assert.equal(guarded({ podSelector: undefined }), false);
        assert.equal(guarded({ policyTypes: ["Egress"] }), false);
        assert.equal(guarded({ policyTypes: undefined }), false);
        assert.equal(guarded({ policyTypes: ["Egress", "Ingress"] }), true);
        assert.equal(guarded({ ingress: [{ from: [] }] }), false, "a rule without sources admits everyone");
        assert.equal(guarded({ ingress: [{}] }), false);
        assert.equal(guarded({ ingress: [{ from: [fromRouter, { namespaceSelector: {} }] }] }), false);
        assert.equal(guarded({ ingress: [{ from: [fromRouter] }, { from: [{ podSelector: { matchLabels: { [LABELS.role]: "model" } } }] }] }), false);
        assert.equal(guarded({ ingress: [{ from: [fromRouter] }, { from: [fromRouter] }] }), true);
        assert.equal(guarded({ ingress: [] }), true, "no rule: nothing gets in");
        assert.equal(guarded({ ingress: undefined }), true);
        assert.equal(guarded({}, "other"), false);
        assert.equal(guarded({}, UNKNOWN), true);
        assert.equal(guarded({}, null), false, "'default' is not the deployment's namespace");
        assert.equal(guarded({}, NS, T.service), false, "NetworkPolicies only");
        assert.deepEqual(messages(name, [model(null), np({}, null)]), [], "both in 'default'");
        assert.deepEqual(messages(name, [model(), { type: T.networkPolicy, name: "np", props: { metadata: { namespace: NS } } }]), [unguarded], "a NetworkPolicy without a spec");
      });

      it("refuses a cluster that stores NetworkPolicies without enforcing them, once its plugin is known", () => {
        const engine = `AKS cluster 'aks' has no network policy engine (networkProfile.networkPolicy): NetworkPolicies would be stored and ignored. Set 'cilium' (with networkDataplane 'cilium'), 'azure' or 'calico' with Azure CNI, 'calico' with kubenet (rule model-pods-reachable-only-from-the-router; ${NP_DOC}).`;
        assert.deepEqual(stackOf(name, [engineCluster({ networkPlugin: "azure" }), model(), np({})]), [{ urn: "urn:cluster", message: engine }]);
        assert.deepEqual(messages(name, [engineCluster({ networkPlugin: "kubenet", networkPolicy: "" }), model(), np({})]), [engine]);
        assert.deepEqual(messages(name, [engineCluster({ networkPlugin: "azure", networkPolicy: "azure" }), model(), np({})]), []);
        assert.deepEqual(messages(name, [engineCluster({ networkPlugin: "azure", networkPolicy: "cilium", networkDataplane: "cilium" }), model(), np({})]), []);
        const noDataplane = `AKS cluster 'aks' sets networkPolicy 'cilium' without networkDataplane 'cilium': Azure accepts Cilium network policy only with the Cilium dataplane (Microsoft: "Configure Azure CNI Powered by Cilium in AKS"), so NetworkPolicies would not be enforced (rule model-pods-reachable-only-from-the-router; ${NP_DOC}).`;
        assert.deepEqual(messages(name, [engineCluster({ networkPlugin: "azure", networkPolicy: "cilium" }), model(), np({})]), [noDataplane]);
        assert.deepEqual(messages(name, [engineCluster({ networkPlugin: "azure", networkPolicy: "cilium", networkDataplane: "azure" }), model(), np({})]), [noDataplane]);
        assert.deepEqual(messages(name, [engineCluster({ networkPlugin: "azure", networkPolicy: "cilium", networkDataplane: UNKNOWN }), model(), np({})]), [], "dataplane not known yet");
        assert.deepEqual(messages(name, [engineCluster({ networkPlugin: "azure", networkPolicy: "cilium" })]), [], "no model deployment, nothing to protect");
        assert.deepEqual(messages(name, [engineCluster({ networkPlugin: UNKNOWN }), model(), np({})]), [], "plugin not known yet");
        assert.deepEqual(messages(name, [engineCluster({}), model(), np({})]), []);
        assert.deepEqual(messages(name, [engineCluster({ networkPlugin: "azure" })]), [], "no model deployment, nothing to protect");
        assert.deepEqual(messages(name, [engineCluster({ networkPlugin: "azure" }), model()]), [unguarded, engine]);
      });
    });

    describe("workload-identity-federated", () => {
      const name = "workload-identity-federated";
      const SUBJECT = `system:serviceaccount:${NS}:aks-inference-model`;
      const fic = (subject: unknown, audiences: unknown = [WORKLOAD_IDENTITY.audience], type = T.federatedCredential): Res => ({ type, name: "fic", props: { subject, issuer: "https://issuer", audiences } });
      const sa = (clientId?: string, namespace: string | null = NS, saName = "aks-inference-model") =>
        named(T.serviceAccount, saName, namespace, { annotations: clientId ? { [WORKLOAD_IDENTITY.clientIdAnnotation]: clientId } : {} });
      const pods = (spec: Record<string, unknown> = { serviceAccountName: "aks-inference-model" }, namespace?: string | null) => workload(spec, { podLabels: { [WORKLOAD_IDENTITY.useLabel]: "true" }, namespace });
      const noSubject = (subject: string, kind = "Deployment") =>
        `${kind} 'router-deployment' signs in with workload identity as '${subject}', but no federated identity credential of this stack trusts that subject (audience api://AzureADTokenExchange): Entra refuses its token exchange. Federate the managed identity with exactly this ServiceAccount (rule workload-identity-federated; ${WI_DOC}).`;
      const noIssuer = `Deployment 'router-deployment' signs in with workload identity, but AKS cluster 'aks' does not enable oidcIssuerProfile and securityProfile.workloadIdentity: no token of its ServiceAccount is trusted (rule workload-identity-federated; ${WI_DOC}).`;
      const noClientId = `Deployment 'router-deployment' signs in with workload identity as ServiceAccount 'aks-inference-model', which has no azure.workload.identity/client-id annotation naming its managed identity (rule workload-identity-federated; ${WI_DOC}).`;

      it("each message in full, at the workload", () => {
        assert.deepEqual(messages(name, [idCluster(), pods(), sa("id"), fic(SUBJECT)]), []);
        assert.deepEqual(stackOf(name, [idCluster({ oidcIssuerProfile: { enabled: false } }), pods(), sa(), fic("x")]), [
          { urn: "urn:w", message: noIssuer },
          { urn: "urn:w", message: noClientId },
          { urn: "urn:w", message: noSubject(SUBJECT) },
        ]);
      });

      it("the cluster: the OIDC issuer and workload identity both on, or not known yet", () => {
        const issuer = (extra: Record<string, unknown>) => messages(name, [idCluster(extra), pods(), sa("id"), fic(SUBJECT)]);
        assert.deepEqual(issuer({ oidcIssuerProfile: { enabled: false } }), [noIssuer]);
        assert.deepEqual(issuer({ oidcIssuerProfile: {} }), [noIssuer]);
        assert.deepEqual(issuer({ securityProfile: { workloadIdentity: { enabled: false } } }), [noIssuer]);
        assert.deepEqual(issuer({ securityProfile: {} }), [noIssuer]);
        assert.deepEqual(issuer({ oidcIssuerProfile: UNKNOWN }), []);
        assert.deepEqual(issuer({ securityProfile: { workloadIdentity: UNKNOWN } }), []);
        assert.deepEqual(issuer({ securityProfile: { workloadIdentity: { enabled: UNKNOWN } } }), []);
        assert.deepEqual(messages(name, [pods(), sa("id"), fic(SUBJECT)]), [], "no cluster in the stack");
      });

      it("the ServiceAccount, when the stack creates it, names its managed identity", () => {
        assert.deepEqual(messages(name, [idCluster(), pods(), fic(SUBJECT)]), [], "not created: the other rule says so");
        assert.deepEqual(messages(name, [idCluster(), pods(), sa(undefined, "other"), fic(SUBJECT)]), []);
        assert.deepEqual(messages(name, [idCluster(), pods(), sa(undefined, UNKNOWN), fic(SUBJECT)]), [noClientId]);
        assert.deepEqual(messages(name, [idCluster(), pods(), { ...sa(), type: T.secret }, fic(SUBJECT)]), []);
        assert.deepEqual(messages(name, [idCluster(), pods(), sa(undefined, NS, "other"), fic(SUBJECT)]), [], "another account");
        const unannotated = named(T.serviceAccount, "aks-inference-model");
        assert.deepEqual(messages(name, [idCluster(), pods(), unannotated, fic(SUBJECT)]), [noClientId], "an account without annotations");
        const specless: Res = { type: T.deployment, name: "router-deployment", urn: "urn:w", props: { metadata: { namespace: NS }, spec: { template: { metadata: { labels: { [WORKLOAD_IDENTITY.useLabel]: "true" } } } } } };
        assert.deepEqual(messages(name, [idCluster(), specless, fic(`system:serviceaccount:${NS}:default`)]), [], "no pod spec: the 'default' account");
        assert.deepEqual(messages(name, [idCluster(), specless]), [noSubject(`system:serviceaccount:${NS}:default`)]);
        assert.deepEqual(messages(name, [idCluster(), { type: T.deployment, name: "bare", props: {} }, providerClass("router-tls")]), [], "no pod spec, no CSI volume");
        const volumes = workload({ serviceAccountName: "aks-inference-model", volumes: [{ name: "s", secret: { secretName: "x" } }, { name: "tls", csi: { driver: "secrets-store.csi.k8s.io" } }] });
        assert.deepEqual(messages(name, [idCluster(), volumes, sa("id"), providerClass("router-tls")]), [], "a secret volume and a CSI volume naming no class");
      });

      it("the subject: exactly system:serviceaccount:<namespace>:<account>, with the workload-identity audience", () => {
        assert.deepEqual(messages(name, [idCluster(), pods(), sa("id"), fic(SUBJECT, ["other"])]), [noSubject(SUBJECT)]);
        assert.deepEqual(messages(name, [idCluster(), pods(), sa("id"), { type: T.federatedCredential, name: "fic", props: { subject: SUBJECT } }]), [noSubject(SUBJECT)], "no audiences");
        assert.deepEqual(messages(name, [idCluster(), pods(), sa("id"), fic(SUBJECT, [WORKLOAD_IDENTITY.audience], T.serviceAccount)]), [noSubject(SUBJECT)]);
        assert.deepEqual(messages(name, [idCluster(), pods(), sa("id"), fic(`system:serviceaccount:other:aks-inference-model`)]), [noSubject(SUBJECT)]);
        assert.deepEqual(messages(name, [idCluster(), pods(), sa("id"), fic(undefined)]), [noSubject(SUBJECT)]);
        assert.deepEqual(messages(name, [idCluster(), pods({}), fic(`system:serviceaccount:${NS}:default`)]), [], "no ServiceAccount: 'default'");
        assert.deepEqual(messages(name, [idCluster(), pods({}), fic(SUBJECT)]), [noSubject(`system:serviceaccount:${NS}:default`)]);
        assert.deepEqual(messages(name, [idCluster(), pods({ serviceAccountName: UNKNOWN })]), [], "an account not known yet");
        const unknownNs = pods(undefined, UNKNOWN);
        assert.deepEqual(messages(name, [idCluster(), unknownNs, sa("id", UNKNOWN), fic(`system:serviceaccount:ns-1:aks-inference-model`)]), [], "namespace unknown: the account's name decides");
        assert.deepEqual(messages(name, [idCluster(), unknownNs, sa("id", UNKNOWN), fic(`system:serviceaccount:ns-1:other`)]), [noSubject(`system:serviceaccount:${UNKNOWN}:aks-inference-model`)]);
        assert.deepEqual(messages(name, [idCluster(), pods(undefined, null), sa("id", null), fic("system:serviceaccount:default:aks-inference-model")]), []);
      });

      it("who signs in with workload identity: the webhook's label, or a CSI volume of a class with a client ID and no pod identity", () => {
        const router = (spec: Record<string, unknown>, labels: Record<string, string> = {}) => workload({ serviceAccountName: "aks-inference-model", ...spec }, { podLabels: labels });
        const concerned = (w: Res, extra: Res[] = []) => messages(name, [idCluster(), w, sa("id"), ...extra]).length > 0;
        assert.equal(concerned(router({}, { [WORKLOAD_IDENTITY.useLabel]: "true" })), true);
        assert.equal(concerned(router({}, { [WORKLOAD_IDENTITY.useLabel]: "false" })), false);
        assert.equal(concerned(router({})), false);
        const csi = router({ volumes: [csiVolume("router-tls")] });
        assert.equal(concerned(csi, [providerClass("router-tls")]), true);
        assert.equal(concerned(csi), false, "no such class");
        assert.equal(concerned(csi, [providerClass("other")]), false);
        assert.equal(concerned(csi, [{ ...providerClass("router-tls"), type: T.secret }]), false);
        assert.equal(concerned(csi, [providerClass("router-tls", { parameters: { usePodIdentity: "true", clientID: "client" } })]), false);
        assert.equal(concerned(csi, [providerClass("router-tls", { parameters: { clientID: "client" } })]), true);
        assert.equal(concerned(csi, [providerClass("router-tls", { parameters: { usePodIdentity: "false" } })]), false, "no client ID");
        assert.equal(concerned(csi, [providerClass("router-tls", { parameters: { usePodIdentity: "false", clientID: "" } })]), false);
        assert.equal(concerned(router({ volumes: [csiVolume("router-tls", "file.csi.azure.com")] }), [providerClass("router-tls")]), false, "other CSI drivers");
        assert.equal(concerned(router({}, { [WORKLOAD_IDENTITY.useLabel]: "true" }), []), true);
        assert.deepEqual(messages(name, [idCluster(), workload({ serviceAccountName: "aks-inference-model" }, { podLabels: { [WORKLOAD_IDENTITY.useLabel]: "true" }, type: T.statefulSet }), sa("id")]), [
          noSubject(SUBJECT, "StatefulSet"),
        ]);
        assert.deepEqual(messages(name, [idCluster(), workload({ serviceAccountName: "aks-inference-model" }, { podLabels: { [WORKLOAD_IDENTITY.useLabel]: "true" }, type: "kubernetes:core/v1:Pod" }), sa("id")]), []);
      });
    });

    describe("images-pulled-through-the-firewall", () => {
      const name = "images-pulled-through-the-firewall";
      const OUTBOUND = 'Microsoft: "Outbound network and FQDN rules for Azure Kubernetes Service (AKS) clusters" https://learn.microsoft.com/azure/aks/outbound-rules-control-egress';
      const running = (containers: string[], initContainers: string[] = [], type = T.deployment): Res => ({
        type,
        name: "web",
        urn: "urn:web",
        props: { spec: { template: { spec: { containers: containers.map((image) => ({ image })), initContainers: initContainers.map((image) => ({ image })) } } } },
      });
      const refused = (image: string, registry: string, kind = "Deployment") =>
        `${kind} 'web' runs '${image}' from ${registry}, which the firewall's application rules do not allow: its pods would stay in ImagePullBackOff. Take the image from MCR or the stack's ACR, or allow the registry and its layer hosts (rule images-pulled-through-the-firewall; ${OUTBOUND}).`;
      const fw = appRules(["prodacr.azurecr.io"], ["AzureKubernetesService"]);

      it("refuses an image from a registry the firewall does not allow, naming image and registry, at the workload", () => {
        assert.deepEqual(stackOf(name, [udrCluster(), fw, running(["nginx:1.27"])]), [{ urn: "urn:web", message: refused("nginx:1.27", "docker.io") }]);
        assert.deepEqual(messages(name, [udrCluster(), fw, running(["mcr.microsoft.com/oss/nginx:1", "prodacr.azurecr.io/model:1"], ["ghcr.io/x/init:1"], T.statefulSet)]), [
          refused("ghcr.io/x/init:1", "ghcr.io", "StatefulSet"),
        ]);
      });

      it("allows MCR through the AKS FQDN tag and the ACR through its FQDN; skips images not known yet", () => {
        assert.deepEqual(messages(name, [udrCluster(), fw, running(["mcr.microsoft.com/oss/nginx:1", "prodacr.azurecr.io/model:1"])]), []);
        assert.deepEqual(messages(name, [udrCluster(), appRules(["prodacr.azurecr.io"]), running(["mcr.microsoft.com/oss/nginx:1"])]), [refused("mcr.microsoft.com/oss/nginx:1", "mcr.microsoft.com")]);
        assert.deepEqual(messages(name, [udrCluster(), appRules(["*.azurecr.io"], [], "NetworkRule"), running(["prodacr.azurecr.io/model:1"])]), [refused("prodacr.azurecr.io/model:1", "prodacr.azurecr.io")]);
        assert.deepEqual(messages(name, [udrCluster(), appRules(["docker.io"]), running(["nginx"])]), []);
        assert.deepEqual(messages(name, [udrCluster(), fw, running([UNKNOWN, ""])]), []);
        const noImage: Res = { type: T.deployment, name: "web", props: { spec: { template: { spec: { containers: [{}] } } } } };
        assert.deepEqual(messages(name, [udrCluster(), fw, noImage]), []);
        assert.deepEqual(messages(name, [udrCluster(), fw, { type: T.deployment, name: "web", props: {} }]), []);
      });

      it("applies behind a firewall (user-defined routing) only, to workloads only", () => {
        assert.deepEqual(messages(name, [cluster({}), fw, running(["nginx"])]), []);
        assert.deepEqual(messages(name, [cluster({ networkProfile: { outboundType: "loadBalancer" } }), fw, running(["nginx"])]), []);
        assert.deepEqual(messages(name, [fw, running(["nginx"])]), [], "no cluster");
        assert.deepEqual(messages(name, [udrCluster(), fw, running(["nginx"], [], "kubernetes:batch/v1:Job")]), []);
        assert.deepEqual(messages(name, [udrCluster(), fw, running(["nginx"], [], T.daemonSet)]), [refused("nginx", "docker.io", "DaemonSet")]);
      });
    });
  });

  describe("gpu-services-fit-their-pool-vm-size", () => {
    const name = "gpu-services-fit-their-pool-vm-size";
    const NC4 = "Standard_NC4as_T4_v3"; // 3.66 vCPU and 23.4 GiB allocatable
    const gpuModel = (requests: Record<string, string> | undefined, poolName: string | null = "t4") =>
      modelDeployment({ ...(poolName === null ? {} : { nodeSelector: { [GPU_POOL_LABEL]: poolName } }), containers: [{ resources: requests ? { requests } : {} }] });
    const said = (short: string) =>
      `GPU model deployment 'svc-a-deployment' does not fit on a Standard_NC4as_T4_v3 node next to the system daemons (${short}): its pods would stay Pending. Lower the service's cpuCores/memoryGb or choose a larger VM size for pool 't4' (sizes: Microsoft Learn, "Sizes for virtual machines in Azure", GPU accelerated).`;
    const fit = (requests: Record<string, string> | undefined, extra: Res[] = [pool("t4", true, NC4)]) => messages(name, [...extra, gpuModel(requests)]);

    it("names the requests that do not fit and the pool, at the deployment", () => {
      assert.deepEqual(stackOf(name, [pool("t4", true, NC4), gpuModel({ cpu: "4", memory: "24Gi" })]), [
        { urn: "urn:model", message: said("cpuCores 4 > 3.66 allocatable of 4 vCPUs; memoryGb 24 > 23.4 GiB allocatable of 28 GiB") },
      ]);
      assert.deepEqual(fit({ cpu: "3", memory: "16Gi" }), []);
    });

    it("reads CPU in cores or millicores", () => {
      assert.deepEqual(fit({ cpu: "3700m" }), [said("cpuCores 3.7 > 3.66 allocatable of 4 vCPUs")]);
      assert.deepEqual(fit({ cpu: "3600m" }), []);
      assert.deepEqual(fit({ cpu: "5" }), [said("cpuCores 5 > 3.66 allocatable of 4 vCPUs")]);
      assert.deepEqual(fit({ cpu: "" }), []);
    });

    it("reads memory in Ki, Mi, Gi, Ti or bytes; anything else counts as nothing", () => {
      const mem = (gib: string) => [said(`memoryGb ${gib} > 23.4 GiB allocatable of 28 GiB`)];
      assert.deepEqual(fit({ memory: "25Gi" }), mem("25"));
      assert.deepEqual(fit({ memory: "25600Mi" }), mem("25"));
      assert.deepEqual(fit({ memory: "26214400Ki" }), mem("25"));
      assert.deepEqual(fit({ memory: String(25 * 1024 ** 3) }), mem("25"));
      assert.deepEqual(fit({ memory: "1Ti" }), mem("1024"));
      assert.deepEqual(fit({ memory: "24.5Gi" }), mem("24.5"));
      assert.deepEqual(fit({ memory: "24.25Gi" }), mem("24.25"));
      assert.deepEqual(fit({ memory: "23Gi" }), []);
      assert.deepEqual(fit({ memory: "24000Ki" }), []);
      assert.deepEqual(fit({ memory: "24000" }), []);
      assert.deepEqual(fit({ memory: "25G" }), [], "not a binary unit");
      assert.deepEqual(fit({ memory: "x25Gi" }), []);
      assert.deepEqual(fit({ memory: "25Gix" }), []);
      assert.deepEqual(fit({ memory: "25.Gi" }), []);
    });

    it("only for a model deployment with requests, selecting a pool of a known GPU VM size", () => {
      const big = { cpu: "64", memory: "1Ti" };
      assert.deepEqual(fit(undefined), [], "no requests");
      assert.deepEqual(messages(name, [pool("t4", true, NC4), gpuModel(big, null)]), [], "no pool selected");
      assert.deepEqual(messages(name, [pool(undefined, true, NC4), gpuModel(big, null)]), [], "no pool selected, and a pool without the label");
      assert.deepEqual(messages(name, [pool("a100", true, NC4), gpuModel(big)]), [], "no pool with that label");
      assert.deepEqual(messages(name, [pool("t4", true, "Standard_D4s_v5"), gpuModel(big)]), [], "a size outside the GPU table");
      assert.deepEqual(messages(name, [{ type: T.pool, name: "p", props: { nodeLabels: { [GPU_POOL_LABEL]: "t4" } } }, gpuModel(big)]), [], "no VM size");
      assert.deepEqual(messages(name, [pool("t4", true, NC4, T.subnet), gpuModel(big)]), [], "AgentPools only");
      assert.equal(messages(name, [pool(undefined, true, NC4), pool("t4", false, NC4), gpuModel(big)]).length, 1, "by label, tainted or not");
      const router = routerDeployment({});
      (router.props.spec as { template: { spec: Record<string, unknown> } }).template.spec = { nodeSelector: { [GPU_POOL_LABEL]: "t4" }, containers: [{ resources: { requests: big } }] };
      assert.deepEqual(messages(name, [pool("t4", true, NC4), router]), [], "model deployments only");
      const second = modelDeployment({ nodeSelector: { [GPU_POOL_LABEL]: "t4" }, containers: [{ resources: {} }, { resources: { requests: big } }] });
      assert.deepEqual(messages(name, [pool("t4", true, NC4), second]), [], "the first container's requests");
      assert.deepEqual(messages(name, [pool("t4", true, NC4), modelDeployment({ nodeSelector: { [GPU_POOL_LABEL]: "t4" }, containers: [] })]), [], "no container");
      assert.deepEqual(messages(name, [pool("t4", true, NC4), modelDeployment({ nodeSelector: { [GPU_POOL_LABEL]: "t4" }, containers: [{ name: "c" }] })]), [], "no resources");
    });
  });
});
