/**
 * Writes `samples/models/regressor.onnx`: a real ONNX model (y = x·W + b, 4 features → 1 value)
 * with known weights, so tests can check the served output exactly; and `regressor-v2.onnx`, the
 * same with another bias, the dev stack's second version of the service. There is no Python here,
 * so the ModelProto is encoded directly with protobufjs from the ONNX schema's field numbers.
 *
 *   npx tsx samples/make-regressor.ts
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import * as protobuf from "protobufjs";

/** The weights the sample model computes with; tests import them to check outputs. */
export const REGRESSOR = { weights: [0.5, -1, 2, 0.25], bias: 0.1, inputName: "input", outputName: "output" } as const;

/** The bias of the second version (regressor-v2.onnx): its answers are those of the first plus one. */
export const REGRESSOR_V2_BIAS = 1.1;

/** What the sample model answers for one row of 4 features: x·W + b. */
export function regressorOutput(x: readonly number[], bias: number = REGRESSOR.bias): number {
  return x.reduce((s, v, i) => s + v * REGRESSOR.weights[i], bias);
}

/** The subset of onnx.proto (ONNX IR v8) the model needs. */
const ONNX_SCHEMA = {
  nested: {
    onnx: {
      nested: {
        ModelProto: { fields: { irVersion: { type: "int64", id: 1 }, producerName: { type: "string", id: 2 }, producerVersion: { type: "string", id: 3 }, modelVersion: { type: "int64", id: 5 }, docString: { type: "string", id: 6 }, graph: { type: "GraphProto", id: 7 }, opsetImport: { rule: "repeated", type: "OperatorSetIdProto", id: 8 } } },
        OperatorSetIdProto: { fields: { domain: { type: "string", id: 1 }, version: { type: "int64", id: 2 } } },
        GraphProto: { fields: { node: { rule: "repeated", type: "NodeProto", id: 1 }, name: { type: "string", id: 2 }, initializer: { rule: "repeated", type: "TensorProto", id: 5 }, input: { rule: "repeated", type: "ValueInfoProto", id: 11 }, output: { rule: "repeated", type: "ValueInfoProto", id: 12 } } },
        NodeProto: { fields: { input: { rule: "repeated", type: "string", id: 1 }, output: { rule: "repeated", type: "string", id: 2 }, name: { type: "string", id: 3 }, opType: { type: "string", id: 4 } } },
        TensorProto: { fields: { dims: { rule: "repeated", type: "int64", id: 1 }, dataType: { type: "int32", id: 2 }, floatData: { rule: "repeated", type: "float", id: 4, options: { packed: true } }, name: { type: "string", id: 8 } } },
        ValueInfoProto: { fields: { name: { type: "string", id: 1 }, type: { type: "TypeProto", id: 2 } } },
        TypeProto: { fields: { tensorType: { type: "TensorTypeProto", id: 1 } } },
        TensorTypeProto: { fields: { elemType: { type: "int32", id: 1 }, shape: { type: "TensorShapeProto", id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: "repeated", type: "Dimension", id: 1 } } },
        Dimension: { fields: { dimValue: { type: "int64", id: 1 }, dimParam: { type: "string", id: 2 } } },
      },
    },
  },
};

const FLOAT = 1;

export function regressorModel(bias: number = REGRESSOR.bias): Uint8Array {
  const root = protobuf.Root.fromJSON(ONNX_SCHEMA);
  const Model = root.lookupType("onnx.ModelProto");
  const tensorType = (dims: ({ dimValue: number } | { dimParam: string })[]) => ({ tensorType: { elemType: FLOAT, shape: { dim: dims } } });
  const model = {
    irVersion: 8,
    producerName: "aks-inference samples",
    producerVersion: "1",
    modelVersion: 1,
    docString: "Linear regressor: output = input · W + b",
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "regressor",
      node: [
        { input: [REGRESSOR.inputName, "W"], output: ["xw"], name: "matmul", opType: "MatMul" },
        { input: ["xw", "B"], output: [REGRESSOR.outputName], name: "add", opType: "Add" },
      ],
      initializer: [
        { name: "W", dims: [4, 1], dataType: FLOAT, floatData: [...REGRESSOR.weights] },
        { name: "B", dims: [1], dataType: FLOAT, floatData: [bias] },
      ],
      input: [{ name: REGRESSOR.inputName, type: tensorType([{ dimParam: "batch" }, { dimValue: 4 }]) }],
      output: [{ name: REGRESSOR.outputName, type: tensorType([{ dimParam: "batch" }, { dimValue: 1 }]) }],
    },
  };
  const problem = Model.verify(model);
  if (problem) throw new Error(problem);
  return Model.encode(Model.fromObject(model)).finish();
}

if (require.main === module) {
  for (const [file, bias] of [["regressor.onnx", REGRESSOR.bias], ["regressor-v2.onnx", REGRESSOR_V2_BIAS]] as const) {
    const out = path.join(__dirname, "models", file);
    writeFileSync(out, regressorModel(bias));
    console.log(`wrote ${out}`);
  }
}
