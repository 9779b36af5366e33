// A sample entry script: the seed's contract, in JavaScript.
// init() runs once when the replica starts; run(input) runs per request.
let greeting;

exports.init = async function init(context) {
  // context.modelDir / context.models: where the service's models were unpacked (none here).
  greeting = `echo ready (${Object.keys(context.models).length} models)`;
};

exports.run = async function run(input) {
  if (input === null || typeof input !== "object" || !("message" in input)) {
    // statusCode marks the caller's mistake: the scoring server answers 400, not 500.
    const err = new Error('expected a JSON object with a "message" field');
    err.statusCode = 400;
    throw err;
  }
  return { echo: input.message, greeting, length: String(input.message).length };
};

// Optional: a schema for the generated swagger.json.
exports.schema = {
  input: { type: "object", properties: { message: { type: "string" } }, required: ["message"] },
  output: { type: "object", properties: { echo: { type: "string" }, greeting: { type: "string" }, length: { type: "integer" } } },
};
