/**
 * Local mode's telemetry file (local/main.ts sets it, scoring/telemetry.ts reads it), in a file
 * of its own so that local mode does not load the OpenTelemetry SDK to name it.
 */

/** The JSON Lines file a replica writes its Application Insights records to when it has no connection string. Not a secret. */
export const TELEMETRY_FILE_ENV = "AKS_INFERENCE_TELEMETRY_FILE";
