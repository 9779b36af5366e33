/**
 * What every phase of an environment shares (components/inferenceEnvironment.ts runs the phases:
 * network.ts, platform.ts, inCluster.ts): its validated config, how its children are named and
 * placed, the Azure identity deploying it, its tags, and its resource group.
 */
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as resources from "@pulumi/azure-native/resources";
import type { StackConfig } from "../../core/config";
import { principalTypeFromToken, type DeployerPrincipalType } from "../../core/azure/identity";
import { TAGS } from "../../core/contracts/naming";
import { purposeProfile, type PurposeProfile } from "../../core/config/purpose";
import type { Placement } from "../legacy";

export interface EnvironmentContext extends Placement {
  /** The environment component: the parent of every child, and of the provider functions it calls. */
  environment: pulumi.ComponentResource;
  cfg: StackConfig;
  /** The cluster purpose's sizing (zones, SKUs), read once for all phases. */
  profile: PurposeProfile;
  /** Folder the config's models, project folders and environment files are relative to. */
  projectRoot: string;
  tags: Record<string, string>;
  location: string;
  subscriptionId: pulumi.Output<string>;
  tenantId: pulumi.Output<string>;
  /** The deployer's ARM access token (for read-only lookups and the ACR token exchange). */
  armToken: pulumi.Output<string>;
  /** Who runs `pulumi up`, as its role assignments name it (config `deployer`, else the token's claims). */
  deployer: { objectId: pulumi.Output<string>; principalType: pulumi.Input<DeployerPrincipalType> };
  /** The environment's own resource group: everything it creates in Azure, except a firewall in an existing VNet. */
  group: resources.ResourceGroup;
}

/** Azure tags on every resource; the policy pack reads them back from the cluster. */
function environmentTags(cfg: StackConfig): Record<string, string> {
  const tokenRegion = cfg.services.some((s) => s.authMode === "token") ? cfg.tokenIssuer.region : undefined;
  return {
    [TAGS.stack]: cfg.stack,
    [TAGS.purpose]: cfg.clusterPurpose,
    [TAGS.networkPlugin]: cfg.network.plugin,
    ...(tokenRegion ? { [TAGS.tokenRegion]: tokenRegion } : {}),
  };
}

/** The shared context of `environment`'s phases; creates its resource group. */
export function environmentContext(environment: pulumi.ComponentResource, place: Placement, cfg: StackConfig, projectRoot: string): EnvironmentContext {
  const tags = environmentTags(cfg);
  const location = cfg.location;
  const { subscriptionId, tenantId, objectId } = authorization.getClientConfigOutput();
  const group = new resources.ResourceGroup(place.child("rg"), { resourceGroupName: cfg.resourceGroupName, location, tags }, place.at());
  const armToken = authorization.getClientTokenOutput().token;
  return {
    ...place,
    environment,
    cfg,
    profile: purposeProfile(cfg.clusterPurpose),
    projectRoot,
    tags,
    location,
    subscriptionId,
    tenantId,
    armToken,
    deployer: { objectId, principalType: cfg.deployer.principalType ?? armToken.apply(principalTypeFromToken) },
    group,
  };
}
