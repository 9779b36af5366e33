/**
 * Azure's region names and the GPU size families known per region (core/azure/regions.ts): pure
 * decisions, each with the exact message the stamp shows.
 */
import * as assert from "node:assert/strict";
import { AZURE_REGIONS, GPU_FAMILIES, REGIONS_DOC, closestRegions, gpuSizeRegionProblem, regionProblem, type GpuFamily } from "../../core/azure/regions";

describe("Azure region names", () => {
  it("holds the programmatic names of Microsoft's regions list, sorted, once each", () => {
    for (const name of ["westeurope", "northeurope", "eastus", "eastus2", "swedencentral", "westus3", "australiacentral2", "mexicocentral", "newzealandnorth", "indonesiacentral"]) {
      assert.ok(AZURE_REGIONS.includes(name), name);
    }
    assert.equal(AZURE_REGIONS.length, 56);
    assert.deepEqual([...AZURE_REGIONS].sort(), [...AZURE_REGIONS]);
    assert.equal(new Set(AZURE_REGIONS).size, AZURE_REGIONS.length);
    for (const name of AZURE_REGIONS) assert.match(name, /^[a-z][a-z0-9]+$/);
    assert.equal(REGIONS_DOC.url, "https://learn.microsoft.com/azure/reliability/regions-list");
  });

  it("a known region has no problem", () => {
    for (const name of AZURE_REGIONS) assert.equal(regionProblem(name), undefined, name);
  });

  it("suggests the closest names: a typo, a display name, a stray digit or space", () => {
    assert.deepEqual(closestRegions("westeurop"), ["westeurope"]);
    assert.deepEqual(closestRegions("West Europe"), ["westeurope"], "a display name is its programmatic name without spaces");
    assert.deepEqual(closestRegions("northeurope2 "), ["northeurope"]);
    assert.deepEqual(closestRegions("eastus4").slice(0, 2), ["eastus", "eastus2"]);
    assert.deepEqual(closestRegions("swedencentrl"), ["swedencentral"]);
    assert.deepEqual(closestRegions("germanywest"), ["germanywestcentral"], "a name cut short");
    assert.deepEqual(closestRegions("mars"), []);
    assert.ok(closestRegions("uswest").length <= 3);
  });

  it("names the allowed values and the Microsoft document, closest first", () => {
    const typo = regionProblem("westeurop") ?? "";
    assert.ok(
      typo.startsWith(`must be an Azure region name (Microsoft, "Azure regions list": https://learn.microsoft.com/azure/reliability/regions-list); did you mean westeurope? Region names: australiacentral, `),
      typo,
    );
    assert.ok(typo.endsWith(", westus, westus2, westus3"), typo);
    const none = regionProblem("mars") ?? "";
    assert.doesNotMatch(none, /did you mean/);
    assert.match(none, /; region names: australiacentral, australiacentral2, australiaeast, .*, westus3$/);
  });
});

describe("GPU VM size families per region", () => {
  const T4: GpuFamily = {
    series: "NCasT4_v3",
    sizes: /^Standard_NC\d+as_T4_v3$/i,
    doc: { title: "NCasT4_v3 sizes series", url: "https://learn.microsoft.com/azure/virtual-machines/sizes/gpu-accelerated/ncast4v3-series" },
    regions: ["eastus", "westeurope"],
  };

  it("a size of a retired series is refused in every region, with the date, the document and what Microsoft recommends", () => {
    assert.equal(
      gpuSizeRegionProblem("Standard_NC6s_v3", "westeurope"),
      `Standard_NC6s_v3 is an NCv3-series size, retired by Azure on 2025-09-30 (Microsoft, "NCv3 sizes series": https://learn.microsoft.com/azure/virtual-machines/sizes/gpu-accelerated/ncv3-series): offered in no region. Microsoft recommends the NC_A100_v4 series (Standard_NC24ads_A100_v4, Standard_NC48ads_A100_v4, Standard_NC96ads_A100_v4)`,
    );
    for (const size of ["Standard_NC12s_v3", "Standard_NC24s_v3", "Standard_NC24rs_v3", "standard_nc6s_v3"]) assert.match(gpuSizeRegionProblem(size, "eastus") ?? "", /NCv3-series size, retired by Azure on 2025-09-30/, size);
    for (const size of ["Standard_NV12s_v3", "Standard_NV12hs_v3", "Standard_NV24ms_v3", "Standard_NV48s_v3"]) {
      assert.match(gpuSizeRegionProblem(size, "northeurope") ?? "", /is an NVv3-series size, retired by Azure on 2026-09-30 \(Microsoft, "NVv3 series retirement": .*\): offered in no region\. Microsoft recommends the NVadsA10_v5 series/, size);
    }
  });

  it("a series known in a region list: refused outside it, with the regions that offer it", () => {
    assert.equal(
      gpuSizeRegionProblem("Standard_NC4as_T4_v3", "northeurope", [T4]),
      `Standard_NC4as_T4_v3 (NCasT4_v3 series) is not offered in northeurope (Microsoft, "NCasT4_v3 sizes series": https://learn.microsoft.com/azure/virtual-machines/sizes/gpu-accelerated/ncast4v3-series); regions that offer it: eastus, westeurope`,
    );
    assert.equal(gpuSizeRegionProblem("Standard_NC4as_T4_v3", "westeurope", [T4]), undefined);
    assert.equal(gpuSizeRegionProblem("Standard_NC4as_T4_v3", "esc-unknown", [T4]), undefined, "a region outside the regions list is not judged");
  });

  it("passes what it does not know: a series outside the table, or one whose regions are not listed", () => {
    assert.equal(gpuSizeRegionProblem("Standard_ND_future_v9", "westeurope"), undefined);
    assert.equal(gpuSizeRegionProblem("Standard_NC4as_T4_v3", "northeurope"), undefined);
    assert.equal(gpuSizeRegionProblem("Standard_NC24ads_A100_v4", "swedencentral"), undefined);
    assert.equal(gpuSizeRegionProblem("Standard_NC4as_T4_v3", "northeurope", [{ ...T4, regions: undefined }]), undefined);
  });

  it("each series of the shipped table has a Microsoft document, and its listed regions are Azure regions", () => {
    for (const family of GPU_FAMILIES) {
      assert.match(family.doc.url, /^https:\/\/learn\.microsoft\.com\/azure\//, family.series);
      for (const region of family.regions ?? []) assert.ok(AZURE_REGIONS.includes(region), `${family.series}: ${region}`);
      assert.ok(!(family.retired && family.regions), `${family.series}: retired or offered, not both`);
    }
    const of = (size: string) => GPU_FAMILIES.find((f) => f.sizes.test(size))?.series;
    assert.deepEqual(
      ["Standard_NC4as_T4_v3", "Standard_NC64as_T4_v3", "Standard_NC24ads_A100_v4", "Standard_ND96asr_v4", "Standard_NV36adms_A10_v5", "Standard_NV6ads_A10_v5", "Standard_NC24rs_v3", "Standard_NV32ms_v3"].map(of),
      ["NCasT4_v3", "NCasT4_v3", "NC_A100_v4", "NDasrA100_v4", "NVadsA10_v5", "NVadsA10_v5", "NCv3", "NVv3"],
    );
  });
});
