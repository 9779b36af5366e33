/**
 * `run <service>`: one request scored through the router, as `az ml service run` did, with the
 * credential the service asks for: its primary key (key auth) or a token the CLI gets the way
 * `token` does (token auth). Against local mode the router is local mode's; on a cluster, the
 * scoring URI `uri` prints (the router's load balancer, or the stack's host).
 */
import { readFileSync } from "node:fs";
import { CliError, type Backend } from "./backends";
import { httpRequest, type HttpAnswer } from "./http";

export interface RunInput {
  data?: string;
  file?: string;
  contentType: string;
}

/** `application/json` and the `+json` types: a body that must parse as JSON. */
const isJson = (contentType: string) => /^application\/([\w.-]+\+)?json\s*(;|$)/i.test(contentType.trim());

/** The request body the options give, checked before anything is sent. */
export function requestBody(o: RunInput): Buffer {
  if ((o.data === undefined) === (o.file === undefined)) throw new CliError("give the request body with either --data '<json>' or --file <path>");
  const what = o.file !== undefined ? `--file ${o.file}` : "--data";
  let body: Buffer;
  try {
    body = o.file !== undefined ? readFileSync(o.file) : Buffer.from(o.data ?? "", "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${what}: ${(err as Error).message}`);
  }
  if (isJson(o.contentType)) {
    try {
      JSON.parse(body.toString("utf8"));
    } catch (err) {
      throw new CliError(`${what} is not JSON (${(err as Error).message}); give --content-type for a body in another format`);
    }
  }
  return body;
}

export interface ScoreAnswer {
  status: number;
  /** The version that answered (`azureml-model-deployment`), for a service with versions. */
  version?: string;
  body: string;
}

/** POSTs `body` to the service's scoring URI; an answer of 400 or more is an error showing its body. */
export async function score(b: Backend, service: string, body: Buffer, contentType: string): Promise<ScoreAnswer> {
  const d = await b.describe(service);
  if (d.scoringUri.includes("<pending>")) throw new CliError(`the router has no address yet (its load balancer is pending); \`aks-inference uri ${service}\` shows the scoring URI once it has one`);
  const credential = d.authMode === "key" ? (await b.keys(service)).primaryKey : d.authMode === "token" ? (await b.token(service)).accessToken : undefined;
  let res: HttpAnswer;
  try {
    res = await httpRequest(d.scoringUri, { method: "POST", headers: { "content-type": contentType, ...(credential ? { authorization: `Bearer ${credential}` } : {}) }, body });
  } catch (err) {
    throw new CliError(`cannot reach the router at ${d.scoringUri}: ${(err as Error).message}`);
  }
  if (res.status >= 400) throw new CliError(`${service} answered ${res.status}: ${res.text.trim() || "(no body)"}`);
  const version = res.headers["azureml-model-deployment"];
  return { status: res.status, ...(typeof version === "string" ? { version } : {}), body: res.text };
}
