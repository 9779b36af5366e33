/**
 * Azure's public-cloud regions and, where known, which GPU (N-series) VM sizes each offers: pure
 * checks for `npm run stamp`, so a typo in `--region` or a GPU pool Azure does not offer there is
 * refused before a stack file is written rather than by Azure at `pulumi up`.
 */
import type { MicrosoftDoc } from "./rules";

/** Where the region names come from. */
export const REGIONS_DOC: MicrosoftDoc = { title: "Azure regions list", url: "https://learn.microsoft.com/azure/reliability/regions-list" };

/**
 * Programmatic names of the Azure public-cloud regions: the "All" table of Microsoft's "Azure regions
 * list" (learn.microsoft.com/azure/reliability/regions-list, as of its 2025-09-23 revision; the
 * geographies are on azure.microsoft.com/explore/global-infrastructure/geographies). It includes
 * the access-restricted regions (australiacentral2, brazilsoutheast, francesouth, germanynorth,
 * norwaywest, southafricawest, switzerlandwest, uaecentral: open on request) and denmarkeast,
 * listed as coming soon. Sovereign clouds (Azure Government, Azure operated by 21Vianet) are not
 * part of it. `az account list-locations --query "[].name"` lists what a subscription can use.
 */
export const AZURE_REGIONS: readonly string[] = [
  "australiacentral",
  "australiacentral2",
  "australiaeast",
  "australiasoutheast",
  "austriaeast",
  "belgiumcentral",
  "brazilsouth",
  "brazilsoutheast",
  "canadacentral",
  "canadaeast",
  "centralindia",
  "centralus",
  "chilecentral",
  "denmarkeast",
  "eastasia",
  "eastus",
  "eastus2",
  "francecentral",
  "francesouth",
  "germanynorth",
  "germanywestcentral",
  "indonesiacentral",
  "israelcentral",
  "italynorth",
  "japaneast",
  "japanwest",
  "koreacentral",
  "koreasouth",
  "malaysiawest",
  "mexicocentral",
  "newzealandnorth",
  "northcentralus",
  "northeurope",
  "norwayeast",
  "norwaywest",
  "polandcentral",
  "qatarcentral",
  "southafricanorth",
  "southafricawest",
  "southcentralus",
  "southeastasia",
  "southindia",
  "spaincentral",
  "swedencentral",
  "switzerlandnorth",
  "switzerlandwest",
  "uaecentral",
  "uaenorth",
  "uksouth",
  "ukwest",
  "westcentralus",
  "westeurope",
  "westindia",
  "westus",
  "westus2",
  "westus3",
];

/** Edit distance (insertions, deletions, substitutions) between two names. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length];
}

/**
 * Up to three region names close to `input`, closest first: the name itself written as a display
 * name ("West Europe"), a typo (a couple of letters off), or a name cut short ("germanywest").
 */
export function closestRegions(input: string): string[] {
  const name = input.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (AZURE_REGIONS.includes(name)) return [name];
  const near = Math.max(2, Math.floor(name.length / 4));
  return AZURE_REGIONS.map((region) => ({ region, score: name.length >= 4 && region.startsWith(name) ? 0 : distance(name, region) }))
    .filter((c) => c.score <= near)
    .sort((a, b) => a.score - b.score || a.region.localeCompare(b.region))
    .slice(0, 3)
    .map((c) => c.region);
}

const cite = (doc: MicrosoftDoc) => `Microsoft, "${doc.title}": ${doc.url}`;
const either = (names: string[]) => (names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`);

/** Why `region` is not an Azure region name (with the closest names and all of them), or undefined. */
export function regionProblem(region: string): string | undefined {
  if (AZURE_REGIONS.includes(region)) return undefined;
  const closest = closestRegions(region);
  const all = AZURE_REGIONS.join(", ");
  return `must be an Azure region name (${cite(REGIONS_DOC)}); ${closest.length > 0 ? `did you mean ${either(closest)}? Region names: ${all}` : `region names: ${all}`}`;
}

/** A GPU VM size series and what is known of where Azure offers it. */
export interface GpuFamily {
  /** The series as Microsoft names it, e.g. `NCasT4_v3`. */
  series: string;
  /** The VM sizes of the series (Azure compares size names case-insensitively). */
  sizes: RegExp;
  /** Microsoft's document for the series (its sizes, or its retirement). */
  doc: MicrosoftDoc;
  /**
   * Every region that offers the series, from Microsoft's "Products available by region"
   * (azure.microsoft.com/explore/global-infrastructure/products-by-region). Absent: not known
   * here, so no region is refused for it.
   */
  regions?: readonly string[];
  /** Retired by Azure: offered in no region. */
  retired?: { on: string; instead: string; insteadSizes: readonly string[] };
}

const sizesDoc = (title: string, page: string): MicrosoftDoc => ({ title, url: `https://learn.microsoft.com/azure/virtual-machines/sizes/gpu-accelerated/${page}` });

/**
 * The GPU series a stack is likely to use, from Microsoft's size-series documents. The size
 * documents give no regions (they point to "Products available by region", which is not part of
 * the documentation sources this table was checked against): no series lists its regions yet, so
 * only the retired ones are refused. Add a series' complete `regions` from that page (or
 * `az vm list-skus --size <size> --query "[].locationInfo[].location"`) to have the stamp check it.
 */
export const GPU_FAMILIES: readonly GpuFamily[] = [
  { series: "NCasT4_v3", sizes: /^Standard_NC\d+as_T4_v3$/i, doc: sizesDoc("NCasT4_v3 sizes series", "ncast4v3-series") },
  { series: "NC_A100_v4", sizes: /^Standard_NC\d+ads_A100_v4$/i, doc: sizesDoc("NC_A100_v4 sizes series", "nca100v4-series") },
  { series: "NDasrA100_v4", sizes: /^Standard_ND96asr_v4$/i, doc: sizesDoc("NDasrA100_v4 sizes series", "ndasra100v4-series") },
  { series: "NVadsA10_v5", sizes: /^Standard_NV\d+adm?s_A10_v5$/i, doc: sizesDoc("NVadsA10_v5 sizes series", "nvadsa10v5-series") },
  {
    // "The NCv3-series will be retired on September 30, 2025" (NC24rs_v3 included).
    series: "NCv3",
    sizes: /^Standard_NC\d+r?s_v3$/i,
    doc: sizesDoc("NCv3 sizes series", "ncv3-series"),
    retired: { on: "2025-09-30", instead: "NC_A100_v4", insteadSizes: ["Standard_NC24ads_A100_v4", "Standard_NC48ads_A100_v4", "Standard_NC96ads_A100_v4"] },
  },
  {
    // "On September 30, 2026, Microsoft Azure will retire the Standard_NV12s_v3, ... NV48s_v3".
    series: "NVv3",
    sizes: /^Standard_NV\d+[hm]?s_v3$/i,
    doc: sizesDoc("NVv3 series retirement", "nvv3-series-retirement"),
    retired: {
      on: "2026-09-30",
      instead: "NVadsA10_v5",
      insteadSizes: ["Standard_NV6ads_A10_v5", "Standard_NV12ads_A10_v5", "Standard_NV18ads_A10_v5", "Standard_NV36ads_A10_v5", "Standard_NV36adms_A10_v5", "Standard_NV72ads_A10_v5"],
    },
  },
];

/**
 * Why a GPU pool of `vmSize` cannot be created in `region`, or undefined: a retired series is
 * refused everywhere; a series whose regions are listed is refused outside them, naming the
 * regions that offer it. A series not in `families`, one without a region list, or a region that is
 * not an Azure region name (checked on its own) passes.
 */
export function gpuSizeRegionProblem(vmSize: string, region: string, families: readonly GpuFamily[] = GPU_FAMILIES): string | undefined {
  const family = families.find((f) => f.sizes.test(vmSize));
  if (!family) return undefined;
  if (family.retired) {
    const { on, instead, insteadSizes } = family.retired;
    return `${vmSize} is an ${family.series}-series size, retired by Azure on ${on} (${cite(family.doc)}): offered in no region. Microsoft recommends the ${instead} series (${insteadSizes.join(", ")})`;
  }
  if (!family.regions || !AZURE_REGIONS.includes(region) || family.regions.includes(region)) return undefined;
  return `${vmSize} (${family.series} series) is not offered in ${region} (${cite(family.doc)}); regions that offer it: ${family.regions.join(", ")}`;
}
