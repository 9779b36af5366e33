/**
 * The aks-inference CrossGuard policy pack: `pulumi preview --policy-pack policies`.
 * The checks live in rules.ts (pure, tested directly); this file only wraps them.
 */
import { PolicyPack, type ResourceValidationPolicy, type StackValidationPolicy } from "@pulumi/policy";
import { rules, type Res } from "./rules";

const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = rules.map((rule) =>
  rule.resource
    ? {
        name: rule.name,
        description: rule.description,
        enforcementLevel: rule.enforcementLevel,
        validateResource: (args, reportViolation) => {
          for (const message of rule.resource!({ type: args.type, name: args.name, urn: args.urn, props: args.props })) reportViolation(message);
        },
      }
    : {
        name: rule.name,
        description: rule.description,
        enforcementLevel: rule.enforcementLevel,
        validateStack: (args, reportViolation) => {
          const all: Res[] = args.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.props }));
          for (const v of rule.stack!(all)) reportViolation(v.message, v.urn);
        },
      },
);

new PolicyPack("aks-inference", { policies });
